import RoostPostgres
import Testing

@Suite("Database URLs in messages")
struct StorageURLTests {
    @Test("a database URL that is refused never shows its password, however it is malformed",
          arguments: [
              "postgres://roost:hunter2secret@127.0.0.1:5432/db?sslmode=bogus",
              "postgres://roost:hunter2secret@",
              "postgres://roost:hunter2secret",
              "postgres://roost:hunter2secret@:5432/db",
              "postgres://roost:hunter2@secret@/db",
              "postgres://roost:hunter2/secret@127.0.0.1/db",
              "mysql://roost:hunter2secret@127.0.0.1/db",
              "hunter2secret",
          ])
    func neverShowsPassword(url: String) {
        let error = #expect(throws: StorageError.self) { try StorageConfiguration(url: url) }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("hunter2") == false, "\(error?.message ?? "")")
        #expect(error?.message.contains("secret") == false, "\(error?.message ?? "")")
    }
}
