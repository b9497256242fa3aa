/// The hash that places entities on shards and shards on runners. It must give the same value in every process,
/// on every platform and in every version of Roost, so it is spelled out here instead of using Swift's `Hasher`
/// (seeded per process):
///
/// 64-bit FNV-1a over the string's UTF-8 bytes (offset basis `0xcbf29ce484222325`, prime `0x100000001b3`),
/// finished with MurmurHash3's 64-bit finaliser (`fmix64`) so that nearby inputs spread over every bit.
/// Changing any of this moves every entity to another shard: it is part of the cluster's on-disk contract.
public enum StableHash {
    /// The hash of a string's UTF-8 bytes.
    public static func of(_ string: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in string.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return mix(hash)
    }

    /// MurmurHash3's `fmix64`: every input bit affects every output bit.
    public static func mix(_ value: UInt64) -> UInt64 {
        var x = value
        x ^= x >> 33
        x &*= 0xff51_afd7_ed55_8ccd
        x ^= x >> 33
        x &*= 0xc4ce_b9fe_1a85_ec53
        x ^= x >> 33
        return x
    }
}
