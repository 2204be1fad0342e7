#!/usr/bin/python3
"""cri.py: a small CRI v1 client making the calls kubelet makes, over a runtime's gRPC socket.

usage: cri.py [--socket PATH] [--timeout S] CALL ARGS...
  version                                   runtime name and version
  pull IMAGE                                PullImage; prints the image ref containerd returns
  image-digests IMAGE                       ImageStatus; prints the image's repo digests
  runp NAME UID NAMESPACE                   RunPodSandbox (host network); prints the sandbox id
  create POD NAME UID NS CNAME IMAGE CMD... CreateContainer in sandbox POD (of pod NAME/UID/NS);
                                            prints the container id
  start ID | stop ID | rm ID                StartContainer / StopContainer / RemoveContainer
  stopp POD | rmp POD                       StopPodSandbox / RemovePodSandbox
  state ID                                  ContainerStatus: state, image, image ref
  exec ID CMD...                            ExecSync; prints stdout/stderr, exits with its code
  cycles N POD NAME UID NS IMAGE CMD...     N times CreateContainer, StartContainer,
                                            StopContainer, RemoveContainer
A failed call prints "error: <gRPC code>: <details>" on stderr and exits 1.
The Python stubs are generated from cri.proto (beside this file) with grpc_tools.protoc into
$CRI_STUBS (default: a fresh temporary directory), never kept in the source tree.
"""
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def stubs():
    out = os.environ.get("CRI_STUBS") or tempfile.mkdtemp(prefix="cri-stubs.")
    if not os.path.exists(os.path.join(out, "cri_pb2_grpc.py")):
        from grpc_tools import protoc
        os.makedirs(out, exist_ok=True)
        import grpc_tools
        inc = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
        rc = protoc.main(["protoc", "-I" + HERE, "-I" + inc, "--python_out=" + out,
                          "--grpc_python_out=" + out, os.path.join(HERE, "cri.proto")])
        if rc != 0:
            sys.exit("cri.py: protoc failed (%d)" % rc)
    sys.path.insert(0, out)
    import cri_pb2
    import cri_pb2_grpc
    return cri_pb2, cri_pb2_grpc


def main(argv):
    sock, timeout = "/run/containerd/containerd.sock", 120.0
    while argv and argv[0].startswith("--"):
        if argv[0] == "--socket" and len(argv) > 1:
            sock, argv = argv[1], argv[2:]
        elif argv[0] == "--timeout" and len(argv) > 1:
            timeout, argv = float(argv[1]), argv[2:]
        elif argv[0] == "--help":
            print(__doc__)
            return 0
        else:
            sys.stderr.write(__doc__)
            return 2
    if not argv:
        sys.stderr.write(__doc__)
        return 2
    pb, rpc = stubs()
    import grpc
    ch = grpc.insecure_channel("unix://" + sock)
    rt, im = rpc.RuntimeServiceStub(ch), rpc.ImageServiceStub(ch)
    call, a = argv[0], argv[1:]

    # host network: kubelet leaves hostname empty (the node's UTS namespace is shared)
    def sandbox(name, uid, ns):
        return pb.PodSandboxConfig(
            metadata=pb.PodSandboxMetadata(name=name, uid=uid, namespace=ns, attempt=0),
            log_directory="/var/log/pods/%s_%s_%s" % (ns, name, uid),
            # kubelet's cgroupfs driver: the pod's cgroup below its QoS class
            linux=pb.LinuxPodSandboxConfig(
                cgroup_parent="/kubepods/besteffort/pod" + uid,
                security_context=pb.LinuxSandboxSecurityContext(
                namespace_options=pb.NamespaceOption(network=pb.NODE, pid=pb.CONTAINER,
                                                     ipc=pb.POD))))

    def create(pod, name, uid, ns, cname, image, cmd, attempt=0):
        cfg = pb.ContainerConfig(
            metadata=pb.ContainerMetadata(name=cname, attempt=attempt),
            image=pb.ImageSpec(image=image), command=cmd[:1], args=cmd[1:],
            log_path="%s/%d.log" % (cname, attempt),
            linux=pb.LinuxContainerConfig(security_context=pb.LinuxContainerSecurityContext(
                namespace_options=pb.NamespaceOption(network=pb.NODE, pid=pb.CONTAINER,
                                                     ipc=pb.POD))))
        return rt.CreateContainer(pb.CreateContainerRequest(
            pod_sandbox_id=pod, config=cfg, sandbox_config=sandbox(name, uid, ns)),
            timeout=timeout).container_id

    try:
        if call == "version":
            r = rt.Version(pb.VersionRequest(version="v1"), timeout=timeout)
            print(r.runtime_name, r.runtime_version, r.runtime_api_version)
        elif call == "pull" and len(a) == 1:
            print(im.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=a[0])),
                               timeout=timeout).image_ref)
        elif call == "image-digests" and len(a) == 1:
            r = im.ImageStatus(pb.ImageStatusRequest(image=pb.ImageSpec(image=a[0])),
                               timeout=timeout)
            for d in r.image.repo_digests:
                print(d)
        elif call == "runp" and len(a) == 3:
            print(rt.RunPodSandbox(pb.RunPodSandboxRequest(config=sandbox(*a)),
                                   timeout=timeout).pod_sandbox_id)
        elif call == "create" and len(a) >= 7:
            print(create(a[0], a[1], a[2], a[3], a[4], a[5], a[6:]))
        elif call == "start" and len(a) == 1:
            rt.StartContainer(pb.StartContainerRequest(container_id=a[0]), timeout=timeout)
        elif call == "stop" and len(a) == 1:
            rt.StopContainer(pb.StopContainerRequest(container_id=a[0], timeout=0),
                             timeout=timeout)
        elif call == "rm" and len(a) == 1:
            rt.RemoveContainer(pb.RemoveContainerRequest(container_id=a[0]), timeout=timeout)
        elif call == "stopp" and len(a) == 1:
            rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=a[0]), timeout=timeout)
        elif call == "rmp" and len(a) == 1:
            rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=a[0]),
                                timeout=timeout)
        elif call == "state" and len(a) == 1:
            s = rt.ContainerStatus(pb.ContainerStatusRequest(container_id=a[0]),
                                   timeout=timeout).status
            print(json.dumps({"state": pb.ContainerState.Name(s.state), "image": s.image.image,
                              "image_ref": s.image_ref, "exit_code": s.exit_code,
                              "reason": s.reason, "message": s.message}))
        elif call == "exec" and len(a) >= 2:
            r = rt.ExecSync(pb.ExecSyncRequest(container_id=a[0], cmd=a[1:], timeout=60),
                            timeout=timeout)
            sys.stdout.write(r.stdout.decode(errors="replace"))
            sys.stderr.write(r.stderr.decode(errors="replace"))
            return r.exit_code
        elif call == "cycles" and len(a) >= 7:
            for i in range(int(a[0])):
                cid = create(a[1], a[2], a[3], a[4], "cycle", a[5], a[6:], attempt=i)
                rt.StartContainer(pb.StartContainerRequest(container_id=cid), timeout=timeout)
                rt.StopContainer(pb.StopContainerRequest(container_id=cid, timeout=0),
                                 timeout=timeout)
                rt.RemoveContainer(pb.RemoveContainerRequest(container_id=cid),
                                   timeout=timeout)
                print(cid)
        else:
            sys.stderr.write(__doc__)
            return 2
    except grpc.RpcError as e:
        sys.stderr.write("error: %s: %s\n" % (e.code().name, e.details()))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
