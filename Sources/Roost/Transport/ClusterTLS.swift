import Foundation
import GRPCNIOTransportHTTP2
import NIOSSL

/// Mutual TLS between runners (`ROOST_CLUSTER_TLS_*`): every runner and client presents a certificate signed by
/// the cluster's certificate authority, and accepts only peers whose certificate that authority signed. The
/// authority is the cluster's own, so a peer is a member when its chain verifies; host names are not checked
/// (runners are reached by IP address and may move).
public struct ClusterTLS: Sendable {
    /// The PEM file with this process's certificate, followed by any intermediate certificates.
    public let certificateChain: String
    /// The PEM file with the certificate's private key.
    public let privateKey: String
    /// The PEM file with the certificate authority (or authorities) that signs the cluster's certificates.
    public let authority: String
    private let chainPEM: [UInt8]
    private let keyPEM: [UInt8]
    private let authorityPEM: [UInt8]

    /// Reads and checks the three files.
    /// - Throws: ``WorkflowError`` `invalid_argument` naming the file that is missing or holds no valid PEM
    ///   certificate or key.
    public init(certificateChain: String, privateKey: String, authority: String) throws {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
        self.authority = authority
        chainPEM = try Self.read(certificateChain, what: "certificate chain")
        keyPEM = try Self.read(privateKey, what: "private key")
        authorityPEM = try Self.read(authority, what: "certificate authority")
        try Self.check(certificateChain, what: "certificate chain") { try NIOSSLCertificate.fromPEMBytes(chainPEM) }
        try Self.check(authority, what: "certificate authority") { try NIOSSLCertificate.fromPEMBytes(authorityPEM) }
        do {
            _ = try NIOSSLPrivateKey(bytes: keyPEM, format: .pem)
        } catch {
            throw WorkflowError(.invalidArgument, "the private key \(privateKey) is not a PEM private key "
                                + "(an encrypted key is not supported): \(error)")
        }
    }

    /// The server side: a client must present a certificate the authority signed.
    var server: HTTP2ServerTransport.Posix.TransportSecurity {
        .mTLS(certificateChain: [.bytes(chainPEM, format: .pem)], privateKey: .bytes(keyPEM, format: .pem)) {
            $0.trustRoots = .certificates([.bytes(authorityPEM, format: .pem)])
            $0.clientCertificateVerification = .noHostnameVerification
        }
    }

    /// The client side: the runner called must present a certificate the authority signed.
    var client: HTTP2ClientTransport.Posix.TransportSecurity {
        .mTLS(certificateChain: [.bytes(chainPEM, format: .pem)], privateKey: .bytes(keyPEM, format: .pem)) {
            $0.trustRoots = .certificates([.bytes(authorityPEM, format: .pem)])
            $0.serverCertificateVerification = .noHostnameVerification
        }
    }

    private static func read(_ path: String, what: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw WorkflowError(.invalidArgument, "the cluster TLS \(what) \(path) cannot be read: no such file, "
                                + "or no permission")
        }
        return Array(data)
    }

    private static func check(_ path: String, what: String, _ parse: () throws -> [NIOSSLCertificate]) throws {
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try parse()
        } catch {
            throw WorkflowError(.invalidArgument, "the cluster TLS \(what) \(path) is not PEM: \(error)")
        }
        guard !certificates.isEmpty else {
            throw WorkflowError(.invalidArgument, "the cluster TLS \(what) \(path) holds no certificate")
        }
    }
}
