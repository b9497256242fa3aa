extension ClusterSettings {
    /// The first setting in which these (a runner's) settings differ from the cluster's, if any.
    public func mismatch(with cluster: ClusterSettings) -> ClusterSettingsMismatch? {
        if shardGroups != cluster.shardGroups {
            return ClusterSettingsMismatch(setting: "shard_groups", local: shardGroups.joined(separator: ","),
                                           cluster: cluster.shardGroups.joined(separator: ","))
        }
        if shardsPerGroup != cluster.shardsPerGroup {
            return ClusterSettingsMismatch(setting: "shards_per_group", local: "\(shardsPerGroup)",
                                           cluster: "\(cluster.shardsPerGroup)")
        }
        return nil
    }
}
