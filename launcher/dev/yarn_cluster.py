"""YARN on this machine, for the local EMR's Hive steps: Hadoop 3.3.4's ResourceManager on a cluster's
primary node and a NodeManager in each core node's folder, one JVM each, so that Hive's MapReduce
jobs run as they do on EMR: the job's ApplicationMaster and each map task in a container JVM of its
own, started by a NodeManager in its node's folders, with only the jars the job ships (localized by
the NodeManager) beside the node's Hadoop class path (`make yarn-jars`, .cache/yarn-jars, where EMR
has /usr/lib/hadoop*).

Each node gets its configuration in <node>/etc/hadoop (EMR's /etc/hadoop/conf): yarn-site.xml
(the ResourceManager's addresses, the node's local and log dirs), mapred-site.xml (jobs go to YARN)
and core-site.xml. The primary node's folder is what its Hive CLI reads.

Differences from EMR, each because this is one machine: the ResourceManager's ports are free ports
of 127.0.0.1; the MapReduce staging directory is on the local filesystem (HDFS on EMR), which every
node shares as HDFS is shared; and each NodeManager's shuffle service listens on a free port, not on 13562.

A NodeManager starts its containers in sessions of their own, out of its process group: every
container JVM carries the cluster's marker (-Dddb_s3.local_cluster=<name>), and `stop()` kills them
by it, as a terminated instance takes its containers with it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Mapping
from html import escape
from pathlib import Path

from launcher.core.wait import poll_until
from launcher.dev.localstack import free_port
from launcher.dev.spark_cluster import HOST, MARKER_PROPERTY, Daemon, cluster_jvms, kill_daemons, spawn_daemon
from launcher.export.run.hive_local import JAVA_OPENS
from launcher.export.run.jars import PROJECT_ROOT, JvmSetupError

YARN_JARS_DIR_ENV = "DDB_S3_YARN_JARS_DIR"
RESOURCE_MANAGER_CLASS = "org.apache.hadoop.yarn.server.resourcemanager.ResourceManager"
NODE_MANAGER_CLASS = "org.apache.hadoop.yarn.server.nodemanager.NodeManager"
DAEMON_JAVA_OPTS = ["-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:CICompilerCount=1"]
NODE_MEMORY_MB = 2048  # what a NodeManager offers: the ApplicationMaster and a map task fit
CONTAINER_MB = 768
CONTAINER_HEAP = "-Xmx512m"
CONTAINER_CLASSES = ("org.apache.hadoop.mapreduce.v2.app.MRAppMaster", "org.apache.hadoop.mapred.YarnChild")
# One queue, as EMR's capacity-scheduler.xml has ("default"); ApplicationMasters may take half of it.
CAPACITY_SCHEDULER = {
    "yarn.scheduler.capacity.root.queues": "default",
    "yarn.scheduler.capacity.root.default.capacity": "100",
    "yarn.scheduler.capacity.maximum-am-resource-percent": "0.5",
}
# Each daemon's log4j 1 output to its stderr, its <name>.log (a container keeps MapReduce's
# container-log4j.properties: its syslog); EMR's /etc/hadoop/conf has a log4j.properties of its own.
LOG4J = """log4j.rootLogger=INFO,console
log4j.appender.console=org.apache.log4j.ConsoleAppender
log4j.appender.console.target=System.err
log4j.appender.console.layout=org.apache.log4j.PatternLayout
log4j.appender.console.layout.ConversionPattern=%d{ISO8601} %p %c{2}: %m%n
"""
# yarn-default.xml's list of what a container inherits from its NodeManager's environment
NM_ENV_WHITELIST = (
    "JAVA_HOME",
    "HADOOP_COMMON_HOME",
    "HADOOP_HDFS_HOME",
    "HADOOP_CONF_DIR",
    "CLASSPATH_PREPEND_DISTCACHE",
    "HADOOP_YARN_HOME",
    "HADOOP_HOME",
    "PATH",
    "LANG",
    "TZ",
)
_NM_REGISTERED = "Registered with ResourceManager as"
_RM_ACTIVE = "Transitioned to active state"
BIND_TRIES = 3


class YarnClusterError(Exception):
    pass


def yarn_jars_dir() -> Path:
    env = os.environ.get(YARN_JARS_DIR_ENV)
    d = Path(env).expanduser().resolve() if env else PROJECT_ROOT / ".cache" / "yarn-jars"
    if not any(d.glob("hadoop-yarn-server-nodemanager-*.jar")):
        raise JvmSetupError(f"no YARN in {d}; run `make yarn-jars` (Maven copies Hadoop 3.3.4's YARN into it)")
    return d


def site_xml(props: Mapping[str, str]) -> str:
    body = "".join(f"  <property><name>{escape(k)}</name><value>{escape(v)}</value></property>\n" for k, v in props.items())
    return f'<?xml version="1.0"?>\n<configuration>\n{body}</configuration>\n'


def free_ports(n: int) -> list[int]:
    return [free_port() for _ in range(n)]


def resource_manager_addresses() -> dict[str, str]:
    """The ResourceManager's services on free ports of 127.0.0.1 (the NodeManagers and clients are
    told them, so they cannot be port 0)."""
    rm, scheduler, tracker, admin, web = free_ports(5)
    return {
        "yarn.resourcemanager.hostname": HOST,
        "yarn.resourcemanager.address": f"{HOST}:{rm}",
        "yarn.resourcemanager.scheduler.address": f"{HOST}:{scheduler}",
        "yarn.resourcemanager.resource-tracker.address": f"{HOST}:{tracker}",
        "yarn.resourcemanager.admin.address": f"{HOST}:{admin}",
        "yarn.resourcemanager.webapp.address": f"{HOST}:{web}",
    }


class YarnCluster:
    """One ResourceManager and its NodeManagers. Start it from the thread that lives as long as the
    cluster (the daemons' PR_SET_PDEATHSIG is bound to it); `stop()` may come from any."""

    def __init__(self, name: str, java: str = "java") -> None:
        self.name, self.java = name, java
        self.jars = yarn_jars_dir()
        self.addresses = resource_manager_addresses()
        self.resource_manager: Daemon | None = None
        self.primary: tuple[Path, Mapping[str, str]] | None = None
        self.node_managers: list[Daemon] = []
        self.stopped = False
        self.lock = threading.Lock()

    def marker(self) -> str:
        return f"-D{MARKER_PROPERTY}={self.name}"

    def configure(self, node: Path, env: Mapping[str, str]) -> Path:
        """<node>/etc/hadoop: this cluster's YARN and MapReduce as the node sees them; the containers
        inherit the node's AWS_* variables from its NodeManager (on EMR a task's SDK finds the
        instance profile's credentials on the node, where here they are in the node's environment)."""
        conf = node / "etc" / "hadoop"
        conf.mkdir(parents=True, exist_ok=True)
        # JAVA_OPENS (the local Hive's): Java 17 refuses Hive's Kryo and the connector's Gson their
        # reflection into java.base unless opened (and the daemons' Guice); EMR 7 sets its own.
        container_opts = " ".join([CONTAINER_HEAP, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", *JAVA_OPENS, self.marker()])
        classpath = f"{conf}{os.pathsep}{self.jars}/*"
        yarn = {
            **self.addresses,
            "yarn.nodemanager.hostname": HOST,
            "yarn.nodemanager.address": f"{HOST}:0",
            "yarn.nodemanager.localizer.address": f"{HOST}:0",
            "yarn.nodemanager.webapp.address": f"{HOST}:0",
            "yarn.nodemanager.local-dirs": str(node / "yarn" / "local"),
            "yarn.nodemanager.log-dirs": str(node / "yarn" / "logs"),
            "yarn.nodemanager.resource.memory-mb": str(NODE_MEMORY_MB),
            "yarn.nodemanager.resource.cpu-vcores": "2",
            "yarn.nodemanager.env-whitelist": ",".join([*NM_ENV_WHITELIST, *sorted(k for k in env if k.startswith("AWS_"))]),
            "yarn.nodemanager.vmem-check-enabled": "false",
            "yarn.nodemanager.disk-health-checker.max-disk-utilization-per-disk-percentage": "99.9",
            "yarn.scheduler.minimum-allocation-mb": "256",
            "yarn.application.classpath": classpath,
            "yarn.nodemanager.aux-services": "mapreduce_shuffle",
            "yarn.nodemanager.aux-services.mapreduce_shuffle.class": "org.apache.hadoop.mapred.ShuffleHandler",
            "yarn.nodemanager.delete.debug-delay-sec": "600",  # a finished container's folder stays to be looked at
            "yarn.resourcemanager.recovery.enabled": "false",
            "yarn.timeline-service.enabled": "false",
        }
        mapred = {
            "mapreduce.framework.name": "yarn",
            # 13562 on each of EMR's nodes; here the nodes share one address. In mapred-site.xml, not
            # yarn-site.xml: mapred-default.xml's 13562 would override the latter.
            "mapreduce.shuffle.port": "0",
            "mapreduce.application.classpath": classpath,
            "yarn.app.mapreduce.am.staging-dir": str(node.parent / "staging"),  # HDFS's /tmp/hadoop-yarn/staging on EMR
            "yarn.app.mapreduce.am.resource.mb": str(CONTAINER_MB),
            "yarn.app.mapreduce.am.command-opts": container_opts,
            "mapreduce.map.memory.mb": str(CONTAINER_MB),
            "mapreduce.map.java.opts": container_opts,
            "mapreduce.reduce.memory.mb": str(CONTAINER_MB),
            "mapreduce.reduce.java.opts": container_opts,
            "yarn.app.mapreduce.am.scheduler.heartbeat.interval-ms": "250",
            # A job's -libjars as one jar each in the distributed cache: their wildcard form (one
            # libjars/* entry) is not localized from a local-filesystem staging dir.
            "mapreduce.client.libjars.wildcard": "false",
        }
        (conf / "yarn-site.xml").write_text(site_xml(yarn))
        (conf / "mapred-site.xml").write_text(site_xml(mapred))
        (conf / "core-site.xml").write_text(site_xml({"hadoop.tmp.dir": str(node / "tmp" / "hadoop")}))
        (conf / "capacity-scheduler.xml").write_text(site_xml(CAPACITY_SCHEDULER))
        (conf / "log4j.properties").write_text(LOG4J)
        return conf

    def _spawn(self, name: str, main_class: str, node: Path, env: Mapping[str, str]) -> Daemon:
        conf = self.configure(node, env)
        folder = node / "yarn"
        folder.mkdir(parents=True, exist_ok=True)
        cmd = [
            self.java,
            *DAEMON_JAVA_OPTS,
            *JAVA_OPENS,
            self.marker(),
            f"-Dhadoop.log.dir={folder / 'logs'}",
            "-cp",
            f"{conf}{os.pathsep}{self.jars}/*",
            main_class,
        ]
        with self.lock:
            if self.stopped:
                raise YarnClusterError(f"{self.name}: stopped before its {name} started")
            # SIGKILL if the local EMR dies: a Hadoop daemon sent SIGTERM can hang in its shutdown hooks.
            return spawn_daemon(name, cmd, folder, dict(env, HADOOP_CONF_DIR=str(conf)), deathsig=signal.SIGKILL)

    def start_resource_manager(self, primary: Path, env: Mapping[str, str]) -> None:
        self.primary = (primary, env)
        self.resource_manager = self._spawn("resourcemanager", RESOURCE_MANAGER_CLASS, primary, env)

    def wait_resource_manager(self, timeout: float) -> None:
        """Until the ResourceManager is active. Its ports were free when picked, and another process
        may bind one first: then it starts again on new ones, up to BIND_TRIES times."""
        assert self.resource_manager is not None and self.primary is not None, "start_resource_manager first"
        for attempt in range(1, BIND_TRIES + 1):
            rm = self.resource_manager

            def state(rm: Daemon = rm) -> str | None:
                return "exited" if rm.proc.poll() is not None else "active" if _RM_ACTIVE in rm.text() else None

            if poll_until(state, bool, every=0.2, timeout=timeout, what=f"{self.name}'s YARN ResourceManager") == "active":
                return
            if "java.net.BindException" not in rm.text() or attempt == BIND_TRIES:
                raise YarnClusterError(f"{self.name}: YARN's resourcemanager exited ({rm.proc.returncode}):\n{rm.tail()}")
            self.addresses = resource_manager_addresses()
            self.resource_manager = self._spawn("resourcemanager", RESOURCE_MANAGER_CLASS, *self.primary)

    def start_node_manager(self, node: Path, env: Mapping[str, str]) -> None:
        self.node_managers.append(self._spawn("nodemanager", NODE_MANAGER_CLASS, node, env))

    def wait_nodes(self, timeout: float) -> None:
        """Until every NodeManager has registered with the ResourceManager."""

        def registered() -> int:
            for d in (self.resource_manager, *self.node_managers):
                if d is not None and d.proc.poll() is not None:
                    raise YarnClusterError(f"{self.name}: YARN's {d.name} exited ({d.proc.returncode}):\n{d.tail()}")
            return sum(_NM_REGISTERED in d.text() for d in self.node_managers)

        poll_until(registered, lambda n: n == len(self.node_managers), every=0.2, timeout=timeout, what=f"{self.name}'s YARN NodeManagers")

    def stop(self) -> None:
        """SIGKILL the daemons' process groups and every container JVM of the cluster; idempotent."""
        with self.lock:
            self.stopped = True
            daemons = [d for d in (*self.node_managers, self.resource_manager) if d is not None]
        kill_daemons(daemons)  # first: no NodeManager starts a container after this
        for main_class in CONTAINER_CLASSES:
            for pid in cluster_jvms(self.name, main_class):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
