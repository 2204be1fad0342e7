#!/usr/bin/python3
"""Offline checks of deploy/ (tests/k8s/test_manifests.sh drives them; Debian python3-yaml only).

  k8scheck.py parse FILE...                 every YAML/JSON document parses (YAML 1.1 as Kubernetes
                                            reads it; duplicate keys are errors) and names its kind
  k8scheck.py fields FILE...                every field of the kinds deploy/ uses is a field of the
                                            Kubernetes API (a table of the v1.30 API for those kinds)
  k8scheck.py crd-structural CRD            the CRD's schema is structural as apiextensions/v1 wants
  k8scheck.py crd-validate CRD FILE...      TrustedImages validate against the CRD's openAPIV3Schema
  k8scheck.py crd-reject CRD FILE...        ... and each document of these files is rejected
  k8scheck.py consistency DEPLOYDIR         cross-object references agree (labels, selectors,
                                            ConfigMaps, ports, the extender URL, embedded config)
  k8scheck.py discovery CACHEDIR HOSTDIR CRD  write a kubectl discovery cache for an offline dry run
  k8scheck.py extender REQUEST RESPONSE     RESPONSE is a valid ExtenderFilterResult for REQUEST
Exit 0 when the check passes; messages name the file, document and field.
"""
import json
import os
import re
import sys
import time

import yaml


class DupLoader(yaml.SafeLoader):
    pass


def _mapping(loader, node, deep=False):
    seen = set()
    for k, _ in node.value:
        key = loader.construct_object(k, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, 'duplicate key %r' % (key,),
                                                    k.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep)


DupLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load(path):
    with open(path, encoding='utf-8') as f:
        text = f.read()
    if path.endswith('.json'):
        return [json.loads(text)]
    return [d for d in yaml.load_all(text, Loader=DupLoader) if d is not None]


def objects(path):
    """Documents, with kind: List expanded."""
    for i, d in enumerate(load(path)):
        if isinstance(d, dict) and d.get('kind') in ('List', 'TrustedImageList'):
            for j, it in enumerate(d.get('items') or []):
                yield '%s: document %d item %d' % (path, i + 1, j + 1), it
        else:
            yield '%s: document %d' % (path, i + 1), d


# ---------------------------------------------------------------- known fields
# Type table: a dict is an object with those fields; 'str', 'int', 'bool', 'any' scalars;
# ['T'] list of T; {'*': T} map of T; 'qty' int-or-string.  Only the kinds deploy/ uses,
# with their full field sets from the Kubernetes v1.30 API.
S, I, B, A, Q = 'str', 'int', 'bool', 'any', 'qty'
MAPSTR = {'*': S}
META = {'name': S, 'generateName': S, 'namespace': S, 'labels': MAPSTR, 'annotations': MAPSTR,
        'uid': S, 'resourceVersion': S, 'generation': I, 'creationTimestamp': A,
        'deletionTimestamp': A, 'deletionGracePeriodSeconds': I, 'ownerReferences': [A],
        'finalizers': [S], 'managedFields': [A], 'selfLink': S}
SELECTOR = {'matchLabels': MAPSTR, 'matchExpressions': [{'key': S, 'operator': S,
                                                         'values': [S]}]}
TOLERATION = {'key': S, 'operator': S, 'value': S, 'effect': S, 'tolerationSeconds': I}
KEYPATHS = [{'key': S, 'path': S, 'mode': I}]
EXEC = {'command': [S]}
HTTPGET = {'path': S, 'port': Q, 'host': S, 'scheme': S, 'httpHeaders': [{'name': S, 'value': S}]}
TCPSOCK = {'port': Q, 'host': S}
PROBE = {'exec': EXEC, 'httpGet': HTTPGET, 'tcpSocket': TCPSOCK, 'grpc': {'port': I, 'service': S},
         'initialDelaySeconds': I, 'timeoutSeconds': I, 'periodSeconds': I,
         'successThreshold': I, 'failureThreshold': I, 'terminationGracePeriodSeconds': I}
SECCOMP = {'type': S, 'localhostProfile': S}
CSEC = {'privileged': B, 'allowPrivilegeEscalation': B, 'readOnlyRootFilesystem': B,
        'runAsNonRoot': B, 'runAsUser': I, 'runAsGroup': I, 'procMount': S,
        'capabilities': {'add': [S], 'drop': [S]}, 'seccompProfile': SECCOMP,
        'seLinuxOptions': MAPSTR, 'windowsOptions': A, 'appArmorProfile': SECCOMP}
PSEC = {'runAsNonRoot': B, 'runAsUser': I, 'runAsGroup': I, 'fsGroup': I,
        'fsGroupChangePolicy': S, 'supplementalGroups': [I], 'seccompProfile': SECCOMP,
        'seLinuxOptions': MAPSTR, 'sysctls': [{'name': S, 'value': S}], 'windowsOptions': A,
        'appArmorProfile': SECCOMP}
ENVVAR = {'name': S, 'value': S, 'valueFrom': A}
CONTAINER = {'name': S, 'image': S, 'imagePullPolicy': S, 'command': [S], 'args': [S],
             'workingDir': S, 'env': [ENVVAR], 'envFrom': [A],
             'ports': [{'name': S, 'containerPort': I, 'hostPort': I, 'protocol': S,
                        'hostIP': S}],
             'resources': {'requests': {'*': Q}, 'limits': {'*': Q}, 'claims': [A]},
             'resizePolicy': [A], 'restartPolicy': S,
             'volumeMounts': [{'name': S, 'mountPath': S, 'readOnly': B, 'subPath': S,
                               'subPathExpr': S, 'mountPropagation': S,
                               'recursiveReadOnly': S}],
             'volumeDevices': [{'name': S, 'devicePath': S}],
             'livenessProbe': PROBE, 'readinessProbe': PROBE, 'startupProbe': PROBE,
             'lifecycle': A, 'terminationMessagePath': S, 'terminationMessagePolicy': S,
             'securityContext': CSEC, 'stdin': B, 'stdinOnce': B, 'tty': B}
VOLUME = {'name': S,
          'hostPath': {'path': S, 'type': S},
          'configMap': {'name': S, 'items': KEYPATHS, 'defaultMode': I, 'optional': B},
          'secret': {'secretName': S, 'items': KEYPATHS, 'defaultMode': I, 'optional': B},
          'persistentVolumeClaim': {'claimName': S, 'readOnly': B},
          'emptyDir': {'medium': S, 'sizeLimit': Q},
          'projected': A, 'downwardAPI': A, 'csi': A, 'ephemeral': A}
PODSPEC = {'containers': [CONTAINER], 'initContainers': [CONTAINER], 'ephemeralContainers': [A],
           'volumes': [VOLUME], 'restartPolicy': S, 'terminationGracePeriodSeconds': I,
           'activeDeadlineSeconds': I, 'dnsPolicy': S, 'dnsConfig': A, 'nodeSelector': MAPSTR,
           'serviceAccountName': S, 'serviceAccount': S, 'automountServiceAccountToken': B,
           'nodeName': S, 'hostNetwork': B, 'hostPID': B, 'hostIPC': B,
           'shareProcessNamespace': B, 'securityContext': PSEC, 'imagePullSecrets': [{'name': S}],
           'hostname': S, 'subdomain': S, 'affinity': A, 'schedulerName': S,
           'tolerations': [TOLERATION], 'hostAliases': [A], 'priorityClassName': S,
           'priority': I, 'readinessGates': [A], 'runtimeClassName': S,
           'enableServiceLinks': B, 'preemptionPolicy': S, 'overhead': {'*': Q},
           'topologySpreadConstraints': [A], 'setHostnameAsFQDN': B, 'os': {'name': S},
           'hostUsers': B, 'schedulingGates': [A], 'resourceClaims': [A]}
TEMPLATE = {'metadata': META, 'spec': PODSPEC}
RULE = {'apiGroups': [S], 'resources': [S], 'resourceNames': [S], 'verbs': [S],
        'nonResourceURLs': [S]}
ROLEREF = {'apiGroup': S, 'kind': S, 'name': S}
SUBJECT = {'kind': S, 'name': S, 'namespace': S, 'apiGroup': S}
KINDS = {
    ('v1', 'Namespace'): {'metadata': META, 'spec': {'finalizers': [S]}},
    ('v1', 'ServiceAccount'): {'metadata': META, 'automountServiceAccountToken': B,
                               'secrets': [A], 'imagePullSecrets': [{'name': S}]},
    ('v1', 'ConfigMap'): {'metadata': META, 'data': MAPSTR, 'binaryData': MAPSTR,
                          'immutable': B},
    ('v1', 'Secret'): {'metadata': META, 'data': MAPSTR, 'stringData': MAPSTR, 'type': S,
                       'immutable': B},
    ('v1', 'Service'): {'metadata': META, 'spec': {
        'type': S, 'selector': MAPSTR, 'clusterIP': S, 'clusterIPs': [S],
        'ports': [{'name': S, 'port': I, 'targetPort': Q, 'protocol': S, 'nodePort': I,
                   'appProtocol': S}],
        'sessionAffinity': S, 'externalTrafficPolicy': S, 'internalTrafficPolicy': S,
        'ipFamilies': [S], 'ipFamilyPolicy': S, 'publishNotReadyAddresses': B,
        'loadBalancerIP': S, 'externalIPs': [S], 'externalName': S}},
    ('v1', 'PersistentVolumeClaim'): {'metadata': META, 'spec': {
        'accessModes': [S], 'resources': {'requests': {'*': Q}, 'limits': {'*': Q}},
        'storageClassName': S, 'volumeMode': S, 'volumeName': S, 'selector': SELECTOR,
        'dataSource': A, 'dataSourceRef': A, 'volumeAttributesClassName': S}},
    ('v1', 'Pod'): {'metadata': META, 'spec': PODSPEC},
    ('apps/v1', 'DaemonSet'): {'metadata': META, 'spec': {
        'selector': SELECTOR, 'template': TEMPLATE, 'minReadySeconds': I,
        'revisionHistoryLimit': I,
        'updateStrategy': {'type': S, 'rollingUpdate': {'maxUnavailable': Q,
                                                        'maxSurge': Q}}}},
    ('apps/v1', 'Deployment'): {'metadata': META, 'spec': {
        'replicas': I, 'selector': SELECTOR, 'template': TEMPLATE, 'minReadySeconds': I,
        'revisionHistoryLimit': I, 'paused': B, 'progressDeadlineSeconds': I,
        'strategy': {'type': S, 'rollingUpdate': {'maxUnavailable': Q, 'maxSurge': Q}}}},
    ('rbac.authorization.k8s.io/v1', 'ClusterRole'): {'metadata': META, 'rules': [RULE],
                                                      'aggregationRule': A},
    ('rbac.authorization.k8s.io/v1', 'Role'): {'metadata': META, 'rules': [RULE]},
    ('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding'): {'metadata': META,
                                                             'roleRef': ROLEREF,
                                                             'subjects': [SUBJECT]},
    ('rbac.authorization.k8s.io/v1', 'RoleBinding'): {'metadata': META, 'roleRef': ROLEREF,
                                                      'subjects': [SUBJECT]},
    ('node.k8s.io/v1', 'RuntimeClass'): {'metadata': META, 'handler': S,
                                         'overhead': {'podFixed': {'*': Q}},
                                         'scheduling': {'nodeSelector': MAPSTR,
                                                        'tolerations': [TOLERATION]}},
    ('apiextensions.k8s.io/v1', 'CustomResourceDefinition'): {'metadata': META, 'spec': {
        'group': S, 'scope': S, 'preserveUnknownFields': B, 'conversion': A,
        'names': {'plural': S, 'singular': S, 'kind': S, 'listKind': S, 'shortNames': [S],
                  'categories': [S]},
        'versions': [{'name': S, 'served': B, 'storage': B, 'deprecated': B,
                      'deprecationWarning': S, 'schema': {'openAPIV3Schema': A},
                      'subresources': A, 'selectableFields': [A],
                      'additionalPrinterColumns': [{'name': S, 'type': S, 'format': S,
                                                    'description': S, 'priority': I,
                                                    'jsonPath': S}]}]}},
    ('kubescheduler.config.k8s.io/v1', 'KubeSchedulerConfiguration'): {
        'parallelism': I, 'featureGates': {'*': B}, 'podInitialBackoffSeconds': I,
        'podMaxBackoffSeconds': I, 'percentageOfNodesToScore': I,
        'delayCacheUntilActive': B,
        'leaderElection': {'leaderElect': B, 'leaseDuration': S, 'renewDeadline': S,
                           'retryPeriod': S, 'resourceLock': S, 'resourceName': S,
                           'resourceNamespace': S},
        'clientConnection': {'kubeconfig': S, 'acceptContentTypes': S, 'contentType': S,
                             'qps': A, 'burst': I},
        'enableProfiling': B, 'enableContentionProfiling': B,
        'profiles': [{'schedulerName': S, 'percentageOfNodesToScore': I, 'plugins': A,
                      'pluginConfig': [A]}],
        'extenders': [{'urlPrefix': S, 'filterVerb': S, 'preemptVerb': S, 'prioritizeVerb': S,
                       'weight': I, 'bindVerb': S, 'enableHTTPS': B,
                       'tlsConfig': {'insecure': B, 'serverName': S, 'certFile': S,
                                     'keyFile': S, 'caFile': S, 'certData': S, 'keyData': S,
                                     'caData': S},
                       'httpTimeout': S, 'nodeCacheCapable': B,
                       'managedResources': [{'name': S, 'ignoredByScheduler': B}],
                       'ignorable': B}]},
    ('kustomize.config.k8s.io/v1beta1', 'Kustomization'): A,
}


def check_fields(where, v, t, path, errs):
    if t == A:
        return
    if isinstance(t, dict) and '*' in t:
        if not isinstance(v, dict):
            errs.append('%s: %s must be a map' % (where, path))
            return
        for k, x in v.items():
            check_fields(where, x, t['*'], '%s[%s]' % (path, k), errs)
        return
    if isinstance(t, dict):
        if not isinstance(v, dict):
            errs.append('%s: %s must be an object' % (where, path))
            return
        for k, x in v.items():
            if k not in t:
                errs.append('%s: unknown field %s.%s' % (where, path, k))
            else:
                check_fields(where, x, t[k], '%s.%s' % (path, k), errs)
        return
    if isinstance(t, list):
        if not isinstance(v, list):
            errs.append('%s: %s must be a list' % (where, path))
            return
        for i, x in enumerate(v):
            check_fields(where, x, t[0], '%s[%d]' % (path, i), errs)
        return
    ok = {S: isinstance(v, str), B: isinstance(v, bool),
          I: isinstance(v, int) and not isinstance(v, bool),
          Q: isinstance(v, (int, str)) and not isinstance(v, bool)}[t]
    if not ok:
        errs.append('%s: %s must be %s, is %r' % (where, path, {S: 'a string', B: 'a boolean',
                                                             I: 'an integer',
                                                             Q: 'an integer or string'}[t], v))


def cmd_parse(files):
    n = 0
    for f in files:
        for where, o in objects(f):
            if not isinstance(o, dict):
                raise SystemExit('%s: not an object' % where)
            if f.endswith('.json'):
                n += 1
                continue
            if not o.get('apiVersion') or not o.get('kind'):
                raise SystemExit('%s: no apiVersion/kind' % where)
            if o['kind'] not in ('KubeSchedulerConfiguration', 'Kustomization') and \
                    not (o.get('metadata') or {}).get('name'):
                raise SystemExit('%s: %s without metadata.name' % (where, o['kind']))
            n += 1
    print('%d documents parse' % n)


def cmd_fields(files):
    errs = []
    n = 0
    for f in files:
        for where, o in objects(f):
            key = (o.get('apiVersion'), o.get('kind'))
            if key[0] == 'tcl.io/v1alpha1':
                continue  # checked against the CRD schema
            if key not in KINDS:
                errs.append('%s: %s %s is not a kind this check knows' % (where, *key))
                continue
            body = {k: v for k, v in o.items() if k not in ('apiVersion', 'kind')}
            check_fields('%s (%s)' % (where, key[1]), body, KINDS[key], key[1], errs)
            n += 1
    for e in errs:
        print(e)
    if errs:
        raise SystemExit(1)
    print('%d objects: every field is a field of its kind' % n)


# ---------------------------------------------------------------- CRD schema
STRUCT_KEYS = {'type', 'description', 'properties', 'required', 'items', 'pattern',
               'maxLength', 'minLength', 'enum', 'format', 'maximum', 'minimum',
               'exclusiveMaximum', 'exclusiveMinimum', 'maxItems', 'minItems', 'maxProperties',
               'minProperties', 'multipleOf', 'default', 'nullable', 'additionalProperties',
               'uniqueItems', 'title', 'example', 'externalDocs', 'x-kubernetes-validations',
               'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string',
               'x-kubernetes-embedded-resource', 'x-kubernetes-list-type',
               'x-kubernetes-list-map-keys', 'x-kubernetes-map-type'}


def crd_schema(path):
    crds = [o for _, o in objects(path) if o.get('kind') == 'CustomResourceDefinition']
    if len(crds) != 1:
        raise SystemExit('%s: want exactly one CustomResourceDefinition' % path)
    crd = crds[0]
    vers = [v for v in crd['spec']['versions'] if v.get('storage')]
    if len(vers) != 1:
        raise SystemExit('%s: want exactly one storage version' % path)
    return crd, vers[0], vers[0]['schema']['openAPIV3Schema']


def structural(s, path, errs, root=False):
    if not isinstance(s, dict):
        errs.append('%s: schema node is not an object' % path)
        return
    for k in s:
        if k not in STRUCT_KEYS:
            errs.append('%s: %s is not allowed in a structural schema' % (path, k))
    if 'type' not in s and not s.get('x-kubernetes-preserve-unknown-fields') and \
            not s.get('x-kubernetes-int-or-string'):
        errs.append('%s: no type' % path)
    if 'properties' in s and 'additionalProperties' in s:
        errs.append('%s: properties and additionalProperties exclude each other' % path)
    if s.get('uniqueItems') is True:
        errs.append('%s: uniqueItems: true is forbidden' % path)
    if 'pattern' in s:
        try:
            re.compile(s['pattern'])
        except re.error as e:
            errs.append('%s: pattern does not compile: %s' % (path, e))
        if re.search(r'\(\?[=!<]|\\[1-9]', s['pattern']):
            errs.append('%s: pattern uses lookaround/backreferences (not RE2)' % path)
    for r in s.get('required', []):
        if r not in s.get('properties', {}):
            errs.append('%s: required %s is not a property' % (path, r))
    for k, sub in s.get('properties', {}).items():
        if root and k == 'metadata':
            if set(sub) - {'type', 'properties', 'description'} or \
                    set(sub.get('properties', {})) - {'name', 'generateName'}:
                errs.append('%s.metadata: only name/generateName may be constrained' % path)
            continue
        structural(sub, '%s.%s' % (path, k), errs)
    if 'items' in s:
        structural(s['items'], path + '.items', errs)
    if isinstance(s.get('additionalProperties'), dict):
        structural(s['additionalProperties'], path + '.additionalProperties', errs)


def validate(v, s, path, errs):
    """The OpenAPI v3 subset the CRD uses; unknown fields are errors, as with strict field
    validation (the API server would otherwise prune them silently)."""
    t = s.get('type')
    if v is None:
        if not s.get('nullable'):
            errs.append('%s: null' % path)
        return
    if s.get('x-kubernetes-preserve-unknown-fields') and t in (None, 'object'):
        if t == 'object' and not isinstance(v, dict):
            errs.append('%s: must be an object' % path)
        return
    kinds = {'object': dict, 'array': list, 'string': str, 'boolean': bool}
    if t in kinds and (not isinstance(v, kinds[t]) or (t != 'boolean' and isinstance(v, bool))):
        errs.append('%s: must be %s, is %r' % (path, t, v))
        return
    if t == 'integer' and (not isinstance(v, int) or isinstance(v, bool)):
        errs.append('%s: must be an integer, is %r' % (path, v))
        return
    if 'enum' in s and v not in s['enum']:
        errs.append('%s: %r is not one of %r' % (path, v, s['enum']))
    if t == 'string':
        if 'maxLength' in s and len(v) > s['maxLength']:
            errs.append('%s: longer than %d' % (path, s['maxLength']))
        if 'minLength' in s and len(v) < s['minLength']:
            errs.append('%s: shorter than %d' % (path, s['minLength']))
        if 'pattern' in s and not re.search(s['pattern'], v):
            errs.append('%s: %r does not match %s' % (path, v, s['pattern']))
    if t == 'object':
        props = s.get('properties', {})
        for r in s.get('required', []):
            if r not in v:
                errs.append('%s: %s is required' % (path, r))
        for k, x in v.items():
            if k in props:
                validate(x, props[k], '%s.%s' % (path, k), errs)
            elif isinstance(s.get('additionalProperties'), dict):
                validate(x, s['additionalProperties'], '%s.%s' % (path, k), errs)
            elif props or s.get('additionalProperties') is False:
                errs.append('%s: unknown field %s' % (path, k))
    if t == 'array':
        for i, x in enumerate(v):
            validate(x, s.get('items', {}), '%s[%d]' % (path, i), errs)


def ti_errors(crd, ver, schema, o):
    errs = []
    want = '%s/%s' % (crd['spec']['group'], ver['name'])
    if o.get('apiVersion') != want or o.get('kind') != crd['spec']['names']['kind']:
        errs.append('apiVersion/kind %s/%s is not %s/%s' % (o.get('apiVersion'), o.get('kind'),
                                                          want, crd['spec']['names']['kind']))
    name = (o.get('metadata') or {}).get('name')
    if not isinstance(name, str) or \
            not re.match(r'^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
                         name) or len(name) > 253:
        errs.append('metadata.name %r is not a DNS subdomain' % (name,))
    validate(o, schema, 'TrustedImage', errs)
    return errs


def cmd_crd_structural(path):
    crd, ver, schema = crd_schema(path)
    errs = []
    structural(schema, 'openAPIV3Schema', errs, root=True)
    spec = crd['spec']
    if crd['metadata']['name'] != '%s.%s' % (spec['names']['plural'], spec['group']):
        errs.append('metadata.name must be <plural>.<group>')
    if '.' not in spec['group']:
        errs.append('group must contain a dot')
    for e in errs:
        print('%s: %s' % (path, e))
    if errs:
        raise SystemExit(1)
    print('%s: structural schema, %s/%s %s' % (path, spec['group'], ver['name'],
                                              spec['names']['kind']))


def cmd_crd_validate(path, files, expect_ok):
    crd, ver, schema = crd_schema(path)
    bad = 0
    n = 0
    for f in files:
        for where, o in objects(f):
            n += 1
            errs = ti_errors(crd, ver, schema, o)
            if expect_ok and errs:
                bad += 1
                print('%s: rejected: %s' % (where, '; '.join(errs)))
            elif not expect_ok and not errs:
                bad += 1
                print('%s: accepted, but should be rejected' % where)
            elif not expect_ok:
                print('%s: rejected as it should be: %s' % (where, errs[0]))
    if bad or not n:
        raise SystemExit('%d of %d objects wrong' % (bad, n))
    print('%d objects %s' % (n, 'valid' if expect_ok else 'rejected'))


# ---------------------------------------------------------------- consistency
def cmd_consistency(d):
    objs = {}
    for root, _, names in os.walk(d):
        for n in sorted(names):
            if n.endswith('.yaml') and 'examples' not in root and n != 'kustomization.yaml' \
                    and n != 'kube-scheduler-config.yaml':
                for where, o in objects(os.path.join(root, n)):
                    objs[(o['kind'], o['metadata'].get('namespace', ''),
                          o['metadata']['name'])] = (where, o)
    errs = []

    def get(kind, ns, name):
        return objs.get((kind, ns, name), (None, None))[1]

    ns = 'tcl-system'
    if not get('Namespace', '', ns):
        errs.append('no Namespace %s' % ns)
    for (kind, ons, name), (where, o) in objs.items():
        if kind in ('Namespace', 'CustomResourceDefinition', 'ClusterRole',
                    'ClusterRoleBinding', 'RuntimeClass'):
            if ons:
                errs.append('%s: cluster-scoped %s has a namespace' % (where, kind))
        elif ons not in (ns, 'kube-system'):
            errs.append('%s: %s %s is not in %s' % (where, kind, name, ns))
        if kind in ('DaemonSet', 'Deployment'):
            sel = o['spec']['selector']['matchLabels']
            labels = o['spec']['template']['metadata']['labels']
            if any(labels.get(k) != v for k, v in sel.items()):
                errs.append('%s: selector does not match the pod template labels' % where)
            pod = o['spec']['template']['spec']
            vols = {v['name']: v for v in pod.get('volumes', [])}
            sa = pod.get('serviceAccountName')
            if sa and not get('ServiceAccount', ons, sa):
                errs.append('%s: no ServiceAccount %s' % (where, sa))
            used = set()
            for c in pod.get('initContainers', []) + pod['containers']:
                for m in c.get('volumeMounts', []):
                    used.add(m['name'])
                    if m['name'] not in vols:
                        errs.append('%s: %s mounts unknown volume %s' % (where, c['name'],
                                                                         m['name']))
                    if m.get('mountPropagation') == 'Bidirectional' and \
                            not (c.get('securityContext') or {}).get('privileged'):
                        errs.append('%s: Bidirectional propagation needs privileged' % where)
            for v in vols:
                if v not in used:
                    errs.append('%s: volume %s is not mounted' % (where, v))
            for v in vols.values():
                cm = (v.get('configMap') or {}).get('name')
                if cm and cm.startswith('tcl-') and not get('ConfigMap', ons, cm) and \
                        cm not in ('tcl-attestor-ca', 'tcl-client-ca', 'tcl-trust-keys'):
                    errs.append('%s: ConfigMap %s is not in deploy/' % (where, cm))
    ds = get('DaemonSet', ns, 'tcl-agent')
    rc = get('RuntimeClass', '', 'tcl')
    if not ds or not rc:
        errs.append('no DaemonSet tcl-agent or RuntimeClass tcl')
    else:
        pod = ds['spec']['template']['spec']
        sel = rc['scheduling']['nodeSelector']
        if any(pod['nodeSelector'].get(k) != v for k, v in sel.items()):
            errs.append('RuntimeClass tcl admits nodes the agent DaemonSet does not run on')
        if {'operator': 'Exists'} not in pod.get('tolerations', []):
            errs.append('the agent does not tolerate every taint')
        if not pod.get('hostPID'):
            errs.append('the agent needs hostPID')
        agent = [c for c in pod['containers'] if c['name'] == 'agent'][0]
        args = agent['args']
        want = ['--enforce', '--scope', 'containers', '--policy', '/etc/tcl/policy.json',
                '--tpm', 'device:/dev/tpmrm0', '--attestor',
                'https://tcl-attestor.tcl-system.svc:8443']
        if args[:len(want)] != want:
            errs.append('agent args are %r, want them to start %r' % (args, want))
        mounts = {m['mountPath']: m for m in agent['volumeMounts']}
        # every file or directory an option names is inside a mount of the agent container
        for opt, val in zip(args, args[1:]):
            if opt in ('--policy', '--attestor-cert', '--attestor-key', '--attestor-ca',
                       '--trust-key', '--log', '--attest-state', '--golden-cache',
                       '--cgroup-root') and \
                    not any(val == m or val.startswith(m.rstrip('/') + '/') for m in mounts):
                errs.append('agent %s %s is not in any volume mount' % (opt, val))
        for p in ('/sys/fs/bpf', '/sys/kernel/security', '/host/proc', '/run/containerd',
                  '/run/containers', '/var/lib/tcl', '/dev/tpmrm0', '/etc/tcl', '/run/tcl'):
            if p not in mounts:
                errs.append('agent does not mount %s' % p)
        if mounts.get('/sys/fs/bpf', {}).get('mountPropagation') != 'Bidirectional':
            errs.append('/sys/fs/bpf must be Bidirectional')
        if agent['readinessProbe']['exec']['command'] != ['tclctl', 'status']:
            errs.append('readiness probe is not tclctl status')
        vols = {v['name']: v for v in pod['volumes']}
        if vols[mounts['/etc/tcl']['name']]['configMap']['name'] != 'tcl-policy':
            errs.append('/etc/tcl is not the tcl-policy ConfigMap')
    svc = get('Service', ns, 'tcl-attestor')
    dep = get('Deployment', ns, 'tcl-attestor')
    if not svc or not dep:
        errs.append('no attestor Service/Deployment')
    else:
        ports = {p['name']: p['containerPort']
                 for c in dep['spec']['template']['spec']['containers']
                 for p in c.get('ports', [])}
        sp = svc['spec']['ports'][0]
        if sp['port'] != 8443 or sp['targetPort'] not in ports:
            errs.append('Service tcl-attestor does not reach the attestor on 8443')
        if any(dep['spec']['template']['metadata']['labels'].get(k) != v
               for k, v in svc['spec']['selector'].items()):
            errs.append('Service tcl-attestor selects no attestor pod')
    sched_file = os.path.join(d, 'scheduler', 'kube-scheduler-config.yaml')
    cfg = load(sched_file)[0]
    cm = get('ConfigMap', ns, 'tcl-scheduler-config')
    if not cm or yaml.safe_load(cm['data']['config.yaml']) != cfg:
        errs.append('ConfigMap tcl-scheduler-config differs from %s' % sched_file)
    ext = cfg['extenders'][0]
    url = '%s/%s' % (ext['urlPrefix'].rstrip('/'), ext['filterVerb'])
    if url != 'https://tcl-attestor.tcl-system.svc:8443/scheduler/filter' or \
            not ext.get('enableHTTPS') or not ext.get('nodeCacheCapable'):
        errs.append('extender does not POST to the attestor\'s /scheduler/filter over HTTPS')
    if cfg['profiles'][0]['schedulerName'] != 'tcl-scheduler':
        errs.append('scheduler profile is not tcl-scheduler')
    pod = load(os.path.join(d, 'examples', 'pod-tcl.yaml'))[0]
    if pod['spec'].get('runtimeClassName') != 'tcl' or \
            pod['spec'].get('schedulerName') != 'tcl-scheduler':
        errs.append('example pod does not use runtimeClassName tcl and tcl-scheduler')
    images = set()
    for f in os.listdir(os.path.join(d, 'examples')):
        if f.startswith('trustedimage'):
            images |= {o['spec']['image']
                       for _, o in objects(os.path.join(d, 'examples', f))}
    for c in pod['spec']['containers']:
        if c['image'] not in images:
            errs.append('example pod image %s has no example TrustedImage' % c['image'])
    for e in errs:
        print('consistency: ' + e)
    if errs:
        raise SystemExit(1)
    print('consistency: %d objects agree' % len(objs))


# ---------------------------------------------------------------- kubectl discovery cache
BUILTIN = {
    'v1': [('namespaces', 'Namespace', False), ('serviceaccounts', 'ServiceAccount', True),
           ('configmaps', 'ConfigMap', True), ('secrets', 'Secret', True),
           ('services', 'Service', True), ('pods', 'Pod', True),
           ('persistentvolumeclaims', 'PersistentVolumeClaim', True),
           ('nodes', 'Node', False)],
    'apps/v1': [('daemonsets', 'DaemonSet', True), ('deployments', 'Deployment', True)],
    'rbac.authorization.k8s.io/v1': [('clusterroles', 'ClusterRole', False),
                                     ('clusterrolebindings', 'ClusterRoleBinding', False),
                                     ('roles', 'Role', True),
                                     ('rolebindings', 'RoleBinding', True)],
    'node.k8s.io/v1': [('runtimeclasses', 'RuntimeClass', False)],
    'apiextensions.k8s.io/v1': [('customresourcedefinitions', 'CustomResourceDefinition',
                                 False)],
    'coordination.k8s.io/v1': [('leases', 'Lease', True)],
}
VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']


def cmd_discovery(cache, host, crd_path):
    """The discovery documents a v1.30 API server would serve for these kinds, plus the CRD's
    own, so that `kubectl create --dry-run=client` maps kinds without a server."""
    crd, ver, _ = crd_schema(crd_path)
    groups = dict(BUILTIN)
    spec = crd['spec']
    groups['%s/%s' % (spec['group'], ver['name'])] = [
        (spec['names']['plural'], spec['names']['kind'], spec['scope'] == 'Namespaced')]
    base = os.path.join(cache, 'discovery', host)
    glist = []
    for gv, res in sorted(groups.items()):
        g, v = gv.split('/') if '/' in gv else ('', gv)
        glist.append({'name': g, 'versions': [{'groupVersion': gv, 'version': v}],
                      'preferredVersion': {'groupVersion': gv, 'version': v}})
        os.makedirs(os.path.join(base, *gv.split('/')), exist_ok=True)
        with open(os.path.join(base, *gv.split('/'), 'serverresources.json'), 'w') as f:
            json.dump({'kind': 'APIResourceList', 'apiVersion': 'v1', 'groupVersion': gv,
                       'resources': [{'name': p, 'singularName': k.lower(), 'namespaced': n,
                                      'kind': k, 'verbs': VERBS} for p, k, n in res]}, f)
    with open(os.path.join(base, 'servergroups.json'), 'w') as f:
        json.dump({'kind': 'APIGroupList', 'apiVersion': 'v1', 'groups': glist}, f)
    now = time.time()
    for r, _, names in os.walk(base):
        for n in names:
            os.utime(os.path.join(r, n), (now, now))
    print('discovery cache for %d group versions in %s' % (len(groups), base))


# ---------------------------------------------------------------- extender
def cmd_extender(req_path, res_path):
    req = load(req_path)[0]
    res = load(res_path)[0]
    errs = []
    if not isinstance(req.get('Pod'), dict):
        errs.append('request: no Pod')
    names = req.get('NodeNames')
    if names is None:
        names = [n['metadata']['name'] for n in (req.get('Nodes') or {}).get('items', [])]
    if not names:
        errs.append('request: no candidate nodes')
    known = {'Nodes', 'NodeNames', 'FailedNodes', 'FailedAndUnresolvableNodes', 'Error'}
    for k in res:
        if k not in known:
            errs.append('response: unknown field %s (ExtenderFilterResult has %s)' %
                        (k, ', '.join(sorted(known))))
    if res.get('Error'):
        errs.append('response: Error %r' % res['Error'])
    kept = res.get('NodeNames')
    if req.get('NodeNames') is not None and kept is None:
        errs.append('response: NodeNames missing (nodeCacheCapable request)')
    kept = kept or []
    failed = dict(res.get('FailedNodes') or {})
    failed.update(res.get('FailedAndUnresolvableNodes') or {})
    for n in kept:
        if n not in names:
            errs.append('response: keeps %s, which was not a candidate' % n)
        if n in failed:
            errs.append('response: %s both kept and failed' % n)
    for n in names:
        if n not in kept and n not in failed:
            errs.append('response: %s neither kept nor failed' % n)
    for n, why in failed.items():
        if not isinstance(why, str) or not why:
            errs.append('response: %s failed without a reason' % n)
    for e in errs:
        print(e)
    if errs:
        raise SystemExit(1)
    print('%s answers %s: kept %s, failed %s' % (res_path, req_path, kept or '[]',
                                                 sorted(failed)))
    if len(sys.argv) > 4 and sys.argv[4] == '--expect-kept':
        want = sys.argv[5].split(',') if len(sys.argv) > 5 and sys.argv[5] else []
        if sorted(kept) != sorted(want):
            raise SystemExit('kept %r, expected %r' % (kept, want))


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ('-h', '--help'):
        print(__doc__)
        return 0 if len(sys.argv) >= 2 else 2
    cmd, args = sys.argv[1], sys.argv[2:]
    try:
        if cmd == 'parse':
            cmd_parse(args)
        elif cmd == 'fields':
            cmd_fields(args)
        elif cmd == 'crd-structural':
            cmd_crd_structural(args[0])
        elif cmd == 'crd-validate':
            cmd_crd_validate(args[0], args[1:], True)
        elif cmd == 'crd-reject':
            cmd_crd_validate(args[0], args[1:], False)
        elif cmd == 'consistency':
            cmd_consistency(args[0])
        elif cmd == 'discovery':
            cmd_discovery(args[0], args[1], args[2])
        elif cmd == 'extender':
            cmd_extender(args[0], args[1])
        else:
            print('unknown command %s' % cmd, file=sys.stderr)
            return 2
    except (yaml.YAMLError, json.JSONDecodeError, OSError, KeyError, IndexError,
            TypeError) as e:
        print('%s: %s: %s' % (cmd, type(e).__name__, e))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
