"""DiskStorage under the real Raft core: a three-server cluster (the table-test harness) whose servers
persist to disk, snapshot and compact, and come back from their directories after a crash."""

from __future__ import annotations

from actors.raft.config import RaftConfig
from actors.raft.disk import DiskStorage
from actors.raft.messages import ConfState, InstallSnapshot

from ..raft.harness import Cluster, NodeShell

CONF = ConfState(voters=("a", "b", "c"))


def on_disk(cluster: Cluster, root, node_id: str, *, incarnation: int = 0) -> NodeShell:  # noqa: ANN001
    """Put ``node_id`` on a DiskStorage in ``root/node_id`` (bootstrapped on first use)."""
    directory = root / node_id
    if incarnation == 0:
        storage = DiskStorage.bootstrapped(directory, CONF, segment_bytes=4096)
    else:
        storage = DiskStorage(directory, segment_bytes=4096)
    node = NodeShell(
        node_id,
        cluster.config,
        storage,  # type: ignore[arg-type]
        seed=cluster.seed,
        incarnation=incarnation,
        snapshot_every=cluster.snapshot_every,
    )
    cluster.nodes[node_id] = node
    cluster.down.discard(node_id)
    return node


def test_a_cluster_on_disk_survives_crashes_and_catches_up_by_snapshot(tmp_path):
    config = RaftConfig(trailing_logs=4, snapshot_chunk_bytes=64)  # several chunks per snapshot
    cluster = Cluster(CONF.voters, config=config, seed=7, snapshot_every=16)
    for node_id in CONF.voters:
        on_disk(cluster, tmp_path, node_id)
    cluster.campaign("a")
    assert cluster.leader() == "a"
    for k in range(40):
        cluster.propose("a", b"v%d" % k)
    # c dies; the others go on far enough to compact past everything c holds
    cluster.crash("c")
    cluster.nodes["c"].storage.close()
    for k in range(40, 100):
        cluster.propose("a", b"v%d" % k)
    leader_disk = cluster.nodes["a"].storage
    assert leader_disk.log_base()[0] > 40 and leader_disk.snapshot_meta().index > 40
    # c comes back from its directory and is brought up to date with a snapshot read from a's disk
    on_disk(cluster, tmp_path, "c", incarnation=1)
    cluster.tick(n=5)
    expected = [b"v%d" % k for k in range(100)]
    assert cluster.values("c") == expected
    chunks = [m for m in cluster.delivered if isinstance(m, InstallSnapshot) and m.dst == "c"]
    assert len(chunks) > 1 and chunks[-1].done
    # every server restarts from disk at once (a power cut): nothing acknowledged is lost
    for node_id in CONF.voters:
        cluster.nodes[node_id].storage.close()
    for node_id in CONF.voters:
        on_disk(cluster, tmp_path, node_id, incarnation=2)
    cluster.tick(n=40)
    leader = cluster.leader()
    cluster.propose(leader, b"after")
    for node_id in CONF.voters:
        assert cluster.values(node_id) == expected + [b"after"]
    for node_id in CONF.voters:
        cluster.nodes[node_id].storage.close()
