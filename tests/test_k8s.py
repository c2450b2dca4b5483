"""The Kubernetes manifests and RAM policies in k8s/, checked offline.

No cluster and no network: every manifest validates against the bundled schemas of
kubernetes-validate (strict mode); the properties ECI and the tool rely on are asserted one by one
(each check is also shown to fire on a mutated copy); every container's args run through the real
CLI with --dry-run, with its environment resolved and $(VAR) expanded the way the kubelet does.
"""

from __future__ import annotations

import copy
import fnmatch
import gzip
import json
import os
import re
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import kubernetes_validate
import pytest
import yaml

from tests.helpers import dockerfile_uid

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "k8s"
ECI_LABEL = "alibabacloud.com/eci"
ECI_ROLE = "k8s.aliyun.com/eci-ram-role-name"
RRSA_ROLE = "pod-identity.alibabacloud.com/role-name"
RRSA_INJECTION = "pod-identity.alibabacloud.com/injection"
WORKLOADS = ("Deployment", "Job", "CronJob")
# Containers may override the entrypoint only with these (the toolbox idles for `kubectl exec`).
ALLOWED_COMMANDS = ("osslist", "sleep")


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


def load_docs(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def all_docs() -> list[tuple[Path, dict[str, Any]]]:
    return [(path, doc) for path in manifest_files() for doc in load_docs(path)]


def docs_of(kind: str) -> list[tuple[Path, dict[str, Any]]]:
    return [(path, doc) for path, doc in all_docs() if doc["kind"] == kind]


def doc_id(item: tuple[Path, dict[str, Any]]) -> str:
    path, doc = item
    return f"{path.relative_to(K8S)}:{doc['kind']}/{doc['metadata']['name']}"


def workloads() -> list[tuple[Path, dict[str, Any]]]:
    return [(path, doc) for path, doc in all_docs() if doc["kind"] in WORKLOADS]


def pod_template(doc: dict[str, Any]) -> dict[str, Any]:
    """The pod template of a Deployment, Job or CronJob."""
    spec = doc["spec"]["jobTemplate"]["spec"] if doc["kind"] == "CronJob" else doc["spec"]
    return spec["template"]


def job_spec(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["spec"]["jobTemplate"]["spec"] if doc["kind"] == "CronJob" else doc["spec"]


def containers(template: dict[str, Any]) -> list[dict[str, Any]]:
    spec = template["spec"]
    return list(spec.get("initContainers", [])) + list(spec["containers"])


def configmap_data(name: str = "osslist-config") -> dict[str, str]:
    found = [doc for _, doc in docs_of("ConfigMap") if doc["metadata"]["name"] == name]
    assert len(found) == 1, f"ConfigMap {name} must be defined exactly once"
    return found[0]["data"]


# --- schema and kustomize --------------------------------------------------------------------


@pytest.mark.parametrize("item", all_docs(), ids=doc_id)
def test_manifest_validates_strictly_against_a_recent_kubernetes(item: tuple[Path, dict[str, Any]]) -> None:
    _, doc = item
    version = kubernetes_validate.utils.latest_version()
    assert tuple(int(x) for x in version.split(".")[:2]) >= (1, 30), version
    # Raises ValidationError (unknown field in strict mode, wrong type) or SchemaNotFoundError.
    kubernetes_validate.validate(doc, version, strict=True)


def test_strict_validation_rejects_an_unknown_field() -> None:
    _, doc = docs_of("Job")[0]
    bad = copy.deepcopy(doc)
    bad["spec"]["template"]["spec"]["containers"][0]["securityContexts"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, kubernetes_validate.utils.latest_version(), strict=True)


def kustomized_files(folder: Path) -> set[Path]:
    """The files a kustomization pulls in, following folder resources recursively."""
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    files: set[Path] = set()
    for resource in kustomization["resources"]:
        target = (folder / resource).resolve()
        assert target.exists(), f"{folder / 'kustomization.yaml'} lists missing {resource}"
        files |= kustomized_files(target) if target.is_dir() else {target}
    return files


def test_kustomizations_list_every_manifest() -> None:
    eci = kustomized_files(K8S)
    rrsa = kustomized_files(K8S / "rrsa")
    assert eci | rrsa == {p.resolve() for p in manifest_files()}
    assert not any("rrsa" in p.parts for p in eci), "k8s/ applies the ECI set only"
    assert (K8S / "config" / "configmap.yaml").resolve() in eci & rrsa


def test_every_container_uses_the_image_the_kustomizations_set() -> None:
    for path, doc in workloads():
        for container in containers(pod_template(doc)):
            assert container["image"] == "osslist", (path, container["name"])
    for folder in (K8S, K8S / "rrsa"):
        images = yaml.safe_load((folder / "kustomization.yaml").read_text())["images"]
        assert [i["name"] for i in images] == ["osslist"] and images[0]["newName"], folder


@pytest.mark.parametrize("item", all_docs(), ids=doc_id)
def test_resources_are_namespace_less(item: tuple[Path, dict[str, Any]]) -> None:
    assert "namespace" not in item[1]["metadata"]


# --- ECI: the RAM role annotation ------------------------------------------------------------


def eci_problems(doc: dict[str, Any]) -> list[str]:
    """Why ECI would not give this workload's pods the RAM role (empty when it would)."""
    template = pod_template(doc)["metadata"]
    problems = []
    if template.get("labels", {}).get(ECI_LABEL) != "true":
        problems.append(f"pod template lacks label {ECI_LABEL}: \"true\"")
    if not template.get("annotations", {}).get(ECI_ROLE):
        problems.append(f"pod template lacks annotation {ECI_ROLE}")
    if ECI_ROLE in doc["metadata"].get("annotations", {}):
        problems.append(f"{ECI_ROLE} on the {doc['kind']}'s own metadata, where ECI ignores it")
    return problems


def eci_workloads() -> list[tuple[Path, dict[str, Any]]]:
    return [(p, d) for p, d in workloads() if "rrsa" not in p.relative_to(K8S).parts]


def test_there_is_one_eci_workload_of_each_kind() -> None:
    kinds = sorted(doc["kind"] for _, doc in eci_workloads())
    assert kinds == ["CronJob", "Deployment", "Job", "Job"]


@pytest.mark.parametrize("item", eci_workloads(), ids=doc_id)
def test_eci_role_annotation_sits_in_the_pod_template(item: tuple[Path, dict[str, Any]]) -> None:
    assert eci_problems(item[1]) == []


@pytest.mark.parametrize("item", eci_workloads(), ids=doc_id)
def test_eci_check_fails_when_the_annotation_moves_to_the_workload(item: tuple[Path, dict[str, Any]]) -> None:
    moved = copy.deepcopy(item[1])
    role = pod_template(moved)["metadata"]["annotations"].pop(ECI_ROLE)
    moved["metadata"].setdefault("annotations", {})[ECI_ROLE] = role
    assert len(eci_problems(moved)) == 2


def eci_role_names() -> set[str]:
    return {pod_template(doc)["metadata"]["annotations"][ECI_ROLE] for _, doc in eci_workloads()}


# --- Jobs ------------------------------------------------------------------------------------


def arg_after(args: list[str], flag: str) -> str:
    assert flag in args, f"{flag} missing from {args}"
    return args[args.index(flag) + 1]


@pytest.mark.parametrize("item", docs_of("Job") + docs_of("CronJob"), ids=doc_id)
def test_jobs_are_bounded_and_never_restart_in_place(item: tuple[Path, dict[str, Any]]) -> None:
    spec = job_spec(item[1])
    for field in ("backoffLimit", "activeDeadlineSeconds"):
        assert isinstance(spec.get(field), int) and spec[field] >= 0, field
    if item[1]["kind"] == "Job":  # a Job and its logs go a day after it ends; its report stays in OSS
        assert isinstance(spec.get("ttlSecondsAfterFinished"), int) and spec["ttlSecondsAfterFinished"] > 0
    else:  # the CronJob's history limits keep its last Jobs (README); a TTL would delete them first
        assert "ttlSecondsAfterFinished" not in spec
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    assert spec["template"]["spec"]["terminationGracePeriodSeconds"] == 10  # README: what SIGTERM does
    for container in containers(spec["template"]):
        assert {"configMapRef": {"name": "osslist-config"}} in container["envFrom"], container["name"]
    if item[1]["kind"] == "Job":  # the CronJob's two steps: test_the_cronjob_lists_then_diffs_...
        [container] = containers(spec["template"])
        assert arg_after(container["args"], "--format") == "jsonl"
        assert "--output" not in container["args"], "the report's key is OSSLIST_OUTPUT, resolved per Job"


def test_cronjob_never_overlaps_and_keeps_a_short_history() -> None:
    [(_, cron)] = docs_of("CronJob")
    spec = cron["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["startingDeadlineSeconds"] > 0
    assert 0 < spec["successfulJobsHistoryLimit"] <= 5 and 0 < spec["failedJobsHistoryLimit"] <= 5


def indexed_jobs() -> list[tuple[Path, dict[str, Any]]]:
    return [(p, d) for p, d in docs_of("Job") if d["spec"].get("completionMode") == "Indexed"]


def shard_problems(doc: dict[str, Any]) -> list[str]:
    """Why the pods of an Indexed Job would not cover the shards exactly once."""
    spec = doc["spec"]
    args = spec["template"]["spec"]["containers"][0]["args"]
    problems = []
    if arg_after(args, "--shard-index") != "$(JOB_COMPLETION_INDEX)":
        problems.append("--shard-index is not $(JOB_COMPLETION_INDEX)")
    if int(arg_after(args, "--shard-count")) != spec["completions"]:
        problems.append("--shard-count differs from completions")
    if spec.get("parallelism") != spec["completions"]:
        problems.append("parallelism differs from completions")
    return problems


def test_indexed_job_shard_count_equals_completions() -> None:
    [(_, doc)] = indexed_jobs()
    assert doc["spec"]["completions"] > 1
    assert shard_problems(doc) == []
    wider = copy.deepcopy(doc)
    wider["spec"]["completions"] = wider["spec"]["parallelism"] = doc["spec"]["completions"] + 1
    assert shard_problems(wider) == ["--shard-count differs from completions"]


# --- pod hardening ---------------------------------------------------------------------------


def hardening_problems(template: dict[str, Any], uid: int) -> list[str]:
    """Every way a pod template falls short of the hardened baseline (empty when it meets it)."""
    spec = template["spec"]
    pod = spec.get("securityContext", {})
    tmp_volumes = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
    problems = []
    for c in containers(template):
        sc = c.get("securityContext", {})

        def effective(key: str, sc: dict[str, Any] = sc) -> Any:
            return sc.get(key, pod.get(key))

        name = c["name"]
        checks: list[tuple[bool, str]] = [
            # ECI honours the user settings only at container level, so they must be there.
            (sc.get("runAsNonRoot") is True, "runAsNonRoot"),
            (sc.get("runAsUser") == uid, f"runAsUser {uid} (the Dockerfile's UID)"),
            (effective("runAsGroup") not in (None, 0), "a non-root group"),
            (sc.get("readOnlyRootFilesystem") is True, "readOnlyRootFilesystem"),
            (sc.get("allowPrivilegeEscalation") is False, "allowPrivilegeEscalation false"),
            (sc.get("capabilities", {}).get("drop") == ["ALL"], "capabilities drop ALL"),
            (not sc.get("capabilities", {}).get("add") and not sc.get("privileged"), "no added privilege"),
            (effective("seccompProfile") == {"type": "RuntimeDefault"}, "seccompProfile RuntimeDefault"),
            (any(m["mountPath"] == "/tmp" and m["name"] in tmp_volumes for m in c.get("volumeMounts", [])),
             "an emptyDir at /tmp"),
            (all(c.get("resources", {}).get(k, {}).get("memory") for k in ("requests", "limits")),
             "memory request and limit"),
        ]
        problems += [f"{name}: {what}" for ok, what in checks if not ok]
    return problems


@pytest.mark.parametrize("item", workloads(), ids=doc_id)
def test_every_pod_is_hardened(item: tuple[Path, dict[str, Any]]) -> None:
    path, doc = item
    assert hardening_problems(pod_template(doc), dockerfile_uid()) == []
    assert "# sized from bench/memory.py: peak RSS" in path.read_text()


MUTATIONS: dict[str, Callable[[dict[str, Any]], None]] = {
    "writable root": lambda c: c["securityContext"].update(readOnlyRootFilesystem=False),
    "escalation": lambda c: c["securityContext"].pop("allowPrivilegeEscalation"),
    "capability added": lambda c: c["securityContext"]["capabilities"].update(add=["NET_RAW"]),
    "root user": lambda c: c["securityContext"].update(runAsUser=0),
    "user only at pod level": lambda c: c["securityContext"].pop("runAsUser"),
    "no /tmp": lambda c: c.pop("volumeMounts"),
    "no limits": lambda c: c["resources"].pop("limits"),
}


@pytest.mark.parametrize("mutation", MUTATIONS, ids=list(MUTATIONS))
def test_hardening_check_fires_on_a_weakened_container(mutation: str) -> None:
    _, doc = docs_of("Job")[0]
    template = copy.deepcopy(pod_template(doc))
    MUTATIONS[mutation](template["spec"]["containers"][0])
    assert hardening_problems(template, dockerfile_uid()) != []


def test_pods_mount_no_kubernetes_api_token() -> None:
    for _, doc in workloads():
        assert pod_template(doc)["spec"].get("automountServiceAccountToken") is False


# --- RAM policies ----------------------------------------------------------------------------


def load_json(name: str) -> dict[str, Any]:
    return json.loads((K8S / name).read_text())


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    assert policy["Version"] == "1"
    return policy["Statement"]


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


REPORT_ACTIONS = ["oss:PutObject", "oss:GetObject", "oss:AbortMultipartUpload", "oss:ListParts"]
_OSS_URL = re.compile(r"oss://[^\s\"']+")


def oss_locations() -> set[str]:
    """Every ``oss://BUCKET/KEY`` a container names (its args and OSSLIST_* values, expanded),
    cut at the first placeholder: where the pods write and read their reports."""
    found = set()
    for _, argv, env in INVOCATIONS:
        values = [*argv, *(v for n, v in env.items() if n.startswith("OSSLIST_"))]
        found |= {url.split("{")[0] for value in values for url in _OSS_URL.findall(value)}
    return found


def test_oss_locations_sees_args_and_variables() -> None:
    locations = oss_locations()
    [(_, _, job)] = [inv for inv in INVOCATIONS if inv[0].startswith("job.yaml:")]
    assert job["OSSLIST_OUTPUT"].split("{")[0] in locations  # a variable
    [(_, diff, _)] = [inv for inv in INVOCATIONS if inv[1][0] == "diff"]
    assert diff[1] in locations and not diff[1].startswith("oss://$(")  # an argument, expanded


def policy_allows(policy: dict[str, Any], action: str, bucket: str, key: str = "", *, prefix: str = "") -> int | None:
    """The index of the first Allow statement of a RAM policy granting ``action`` on ``bucket``
    (``key`` empty: a bucket-level action, whose resource is the bucket) with ``prefix`` the
    ListObjects prefix; None when none does. Knows the one condition the policies use."""
    resource = f"acs:oss:*:*:{bucket}" + (f"/{key}" if key else "")
    for index, statement in enumerate(statements(policy)):
        if statement["Effect"] != "Allow" or action not in as_list(statement["Action"]):
            continue
        if not any(fnmatch.fnmatchcase(resource, pattern) for pattern in as_list(statement["Resource"])):
            continue
        condition = statement.get("Condition", {})
        assert set(condition) <= {"StringLike"} and set(condition.get("StringLike", {})) <= {"oss:Prefix"}, condition
        patterns = condition.get("StringLike", {}).get("oss:Prefix")
        if patterns is None or any(fnmatch.fnmatchcase(prefix, p) for p in as_list(patterns)):
            return index
    return None


def test_policy_check_refuses_what_the_policy_does_not_say() -> None:
    policy = load_json("ram-policy.json")
    bucket = configmap_data()["OSSLIST_BUCKET"]
    assert policy_allows(policy, "oss:ListObjects", bucket) == 0
    assert policy_allows(policy, "oss:GetObject", bucket, "any/key") is None  # the audited bucket is never read
    assert policy_allows(policy, "oss:PutObject", bucket, "x") is None
    assert policy_allows(policy, "oss:DeleteObject", "examplebucket-reports", "osslist/x") is None
    assert policy_allows(policy, "oss:PutObject", "examplebucket-reports", "elsewhere/x") is None
    assert policy_allows(policy, "oss:ListObjects", "examplebucket-reports", prefix="osslist/") is None
    assert policy_allows(policy, "oss:ListObjects", "examplebucket-reports",
                         prefix=f"osslist/inventory/{bucket}/2026-01-01T03-00Z/manifest.json") == 2
    assert policy_allows(policy, "oss:ListMultipartUploads", "examplebucket-reports", prefix="osslist/x") == 3
    assert policy_allows(policy, "oss:ListMultipartUploads", bucket) is None  # the audited bucket's: audit policy
    assert policy_allows(policy, "oss:ListObjectVersions", bucket) is None


def test_ram_policy_lists_the_bucket_read_only_and_writes_only_the_report_prefix() -> None:
    bucket = configmap_data()["OSSLIST_BUCKET"]
    listing, reports, report_listing, report_uploads = statements(load_json("ram-policy.json"))
    assert {s["Effect"] for s in (listing, reports, report_listing, report_uploads)} == {"Allow"}
    assert as_list(listing["Action"]) == ["oss:ListObjects"]
    # ListObjects is a bucket-level action: its resource is the bucket, not bucket/* (objects).
    assert as_list(listing["Resource"]) == [f"acs:oss:*:*:{bucket}"]
    assert "*" not in bucket and "Condition" not in listing and "Condition" not in reports
    assert sorted(as_list(reports["Action"])) == sorted(REPORT_ACTIONS)
    [pattern] = as_list(reports["Resource"])
    report_bucket, _, key_prefix = pattern.removeprefix("acs:oss:*:*:").partition("/")
    assert report_bucket != bucket and key_prefix.endswith("/*")  # the audited bucket is never written
    for location in oss_locations():  # every report, checkpoint, summary and diff under that prefix
        assert location.startswith(f"oss://{report_bucket}/{key_prefix[:-1]}"), location
    # The scheduled audit's diff lists its folder of reports, and only that folder.
    [folder] = [argv[1] for _, argv, _ in INVOCATIONS if argv[0] == "diff"]
    assert as_list(report_listing["Action"]) == ["oss:ListObjects"]
    assert as_list(report_listing["Resource"]) == [f"acs:oss:*:*:{report_bucket}"]
    assert report_listing["Condition"] == {
        "StringLike": {"oss:Prefix": [folder.removeprefix(f"oss://{report_bucket}/") + "*"]}}
    # Best effort: finding the uploads a killed pod left on the report keys, to abort them.
    assert (as_list(report_uploads["Action"]), as_list(report_uploads["Resource"])) == (
        ["oss:ListMultipartUploads"], [f"acs:oss:*:*:{report_bucket}"])
    assert "Condition" not in report_uploads


def test_every_job_writes_its_report_checkpoint_and_summary_to_oss_under_its_job_name() -> None:
    jobs = [(i, argv, env) for i, argv, env in INVOCATIONS if ":Job/" in i]
    assert len({i.split(":")[1] for i, _, _ in jobs}) == 3  # audit, sharded audit, RRSA audit
    for ident, _, env in jobs:
        output = env["OSSLIST_OUTPUT"]
        assert output.startswith("oss://") and "{env:JOB_NAME}" in output, ident
        assert env["OSSLIST_CHECKPOINT"].startswith(output.rsplit("/", 1)[0] + "/"), ident
        assert env["OSSLIST_SUMMARY_JSON"].startswith(output.rsplit("/", 1)[0] + "/"), ident
        assert env["JOB_NAME"], ident
        if ident.split(":")[-1] != "None":  # an Indexed Job: one report per shard
            assert "{shard}" in output, ident


def test_the_job_name_comes_from_the_downward_api() -> None:
    users = 0
    for path, doc in workloads():
        for container in containers(pod_template(doc)):
            if "{env:JOB_NAME}" not in json.dumps(container):
                continue
            users += 1
            [item] = [e for e in container["env"] if e["name"] == "JOB_NAME"]
            assert item["valueFrom"]["fieldRef"]["fieldPath"] == f"metadata.labels['{JOB_NAME_LABEL}']", path
    assert users == 4  # the three Jobs and the CronJob's inventory step


def test_audit_policy_is_the_jobs_policy_plus_the_version_and_upload_actions() -> None:
    """ram-policy-audit.json replaces ram-policy.json (README: attach one), so it must keep every
    statement the manifests need and add only the audited bucket's version and upload actions."""
    bucket = configmap_data()["OSSLIST_BUCKET"]
    base = statements(load_json("ram-policy.json"))
    bucket_level, *shared, object_level = statements(load_json("ram-policy-audit.json"))
    assert shared == base[1:]
    assert {**bucket_level, "Action": base[0]["Action"]} == base[0]
    assert as_list(bucket_level["Action"]) == ["oss:ListObjects", "oss:ListObjectVersions", "oss:ListMultipartUploads"]
    assert as_list(bucket_level["Resource"]) == [f"acs:oss:*:*:{bucket}"]
    # ListParts acts on an upload of an object: its resource is bucket/*
    assert (as_list(object_level["Action"]), as_list(object_level["Resource"])) == (
        ["oss:ListParts"], [f"acs:oss:*:*:{bucket}/*"]
    )
    assert all(s["Effect"] == "Allow" and "Condition" not in s for s in (bucket_level, object_level))


def test_ecs_trust_policy_trusts_only_ecs() -> None:
    [statement] = statements(load_json("ram-trust-policy.json"))
    assert (statement["Effect"], statement["Action"]) == ("Allow", "sts:AssumeRole")
    assert statement["Principal"] == {"Service": ["ecs.aliyuncs.com"]}


def test_pass_role_policy_names_the_role_the_pods_use() -> None:
    [role] = eci_role_names()
    [statement] = statements(load_json("ram-passrole-policy.json"))
    assert (statement["Effect"], statement["Action"]) == ("Allow", "ram:PassRole")
    assert as_list(statement["Resource"]) == [f"acs:ram:*:*:role/{role}"]


# --- RRSA variant ----------------------------------------------------------------------------


def test_rrsa_job_uses_the_annotated_service_account_and_rrsa_credentials() -> None:
    [(_, account)] = docs_of("ServiceAccount")
    assert account["metadata"]["annotations"][RRSA_ROLE]
    [(_, job)] = [(p, d) for p, d in workloads() if "rrsa" in p.parts]
    template = pod_template(job)
    assert template["spec"]["serviceAccountName"] == account["metadata"]["name"]
    assert template["metadata"]["labels"][RRSA_INJECTION] == "on"
    assert ECI_ROLE not in template["metadata"].get("annotations", {})
    assert arg_after(template["spec"]["containers"][0]["args"], "--credentials") == "rrsa"
    [statement] = statements(load_json("rrsa/ram-trust-policy.json"))
    assert "Federated" in statement["Principal"]
    subject = statement["Condition"]["StringEquals"]["oidc:sub"]
    assert subject.endswith(f":{account['metadata']['name']}")
    assert statement["Condition"]["StringEquals"]["oidc:aud"] == "sts.aliyuncs.com"


# --- container args through the real CLI -----------------------------------------------------

_VAR_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand(value: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion of command/args: `$$` escapes, unknown refs stay verbatim."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        return env.get(match.group(1), match.group(0))

    return _VAR_REF.sub(replace, value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("$(A)", "1"), ("x$(A)y", "x1y"), ("$(B)", "$(B)"), ("$$(A)", "$(A)"), ("$A", "$A")],
)
def test_expansion_follows_kubernetes(value: str, expected: str) -> None:
    assert expand(value, {"A": "1"}) == expected


JOB_NAME_LABEL = "batch.kubernetes.io/job-name"


def container_env(container: dict[str, Any], extra: dict[str, str], labels: dict[str, str] | None = None) -> dict[str, str]:
    """The environment the kubelet gives the container: envFrom, then env (which wins); a
    downward-API fieldRef to a pod label reads ``labels``."""
    env = dict(extra)
    for source in container.get("envFrom", []):
        env.update(configmap_data(source["configMapRef"]["name"]))
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = expand(item["value"], env)
        elif "fieldRef" in item["valueFrom"]:
            label = re.fullmatch(r"metadata\.labels\['(.+)'\]", item["valueFrom"]["fieldRef"]["fieldPath"])
            assert label is not None and labels is not None and label.group(1) in labels, item
            env[item["name"]] = labels[label.group(1)]
        else:
            ref = item["valueFrom"]["configMapKeyRef"]
            env[item["name"]] = configmap_data(ref["name"])[ref["key"]]
    return env


def webhook_env(template: dict[str, Any]) -> dict[str, str]:
    """What ack-pod-identity-webhook injects into a pod it mutates (RRSA), else nothing."""
    if template["metadata"].get("labels", {}).get(RRSA_INJECTION) != "on":
        return {}
    accounts = {d["metadata"]["name"]: d for _, d in docs_of("ServiceAccount")}
    role = accounts[template["spec"]["serviceAccountName"]]["metadata"]["annotations"][RRSA_ROLE]
    return {
        "ALIBABA_CLOUD_ROLE_ARN": f"acs:ram::1234567890123456:role/{role}",
        "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": "acs:ram::1234567890123456:oidc-provider/ack-rrsa-c0123",
        "ALIBABA_CLOUD_OIDC_TOKEN_FILE": "/var/run/secrets/ack.alibabacloud.com/rrsa-tokens/token",
    }


def job_labels(doc: dict[str, Any], job_name: str | None = None) -> dict[str, str]:
    """The labels the Job controller puts on its pods (a CronJob's Job is named <cronjob>-<minute>)."""
    if doc["kind"] == "Deployment":
        return {}
    name = job_name or doc["metadata"]["name"] + ("-29412345" if doc["kind"] == "CronJob" else "")
    return {JOB_NAME_LABEL: name, "job-name": name}


def osslist_steps(doc: dict[str, Any], labels: dict[str, str], extra: dict[str, str]
                  ) -> Iterator[tuple[str, list[str], dict[str, str]]]:
    """(container name, argv, env) of each container running osslist, in the order the kubelet
    runs them (init containers first), argv expanded as the kubelet does."""
    for container in containers(pod_template(doc)):
        command = container.get("command", ["osslist"])
        assert command[0] in ALLOWED_COMMANDS, (container["name"], command)
        if command[0] != "osslist":
            continue
        env = container_env(container, extra, labels)
        yield container["name"], [expand(a, env) for a in command[1:] + container.get("args", [])], env


def invocations() -> Iterator[tuple[str, list[str], dict[str, str]]]:
    """(id, argv, env) of every container that runs osslist, once per Indexed Job index."""
    for path, doc in workloads():
        spec = job_spec(doc) if doc["kind"] != "Deployment" else doc["spec"]
        indexed = spec.get("completionMode") == "Indexed"
        indexes = [str(i) for i in range(spec["completions"])] if indexed else [None]
        for index in indexes:
            extra = webhook_env(pod_template(doc))
            if index is not None:
                extra["JOB_COMPLETION_INDEX"] = index
            for name, argv, env in osslist_steps(doc, job_labels(doc), extra):
                yield f"{doc_id((path, doc))}:{name}:{index}", argv, env


INVOCATIONS = list(invocations())


def test_every_workload_runs_osslist() -> None:
    names = {i.split(":")[1] for i, _, _ in INVOCATIONS}
    assert names == {doc_id((p, d)).split(":")[1] for p, d in workloads()}


LISTINGS = [(i, a, e) for i, a, e in INVOCATIONS if a[0] != "diff"]
"""Every container but the CronJob's diff step (diff has no --dry-run: it runs for real in
test_the_scheduled_audit_keeps_each_runs_changes_beside_its_report)."""


def test_only_the_diff_step_is_left_out_of_the_dry_runs() -> None:
    assert [i.split(":")[1:3] for i, a, _ in INVOCATIONS if a[0] == "diff"] == [
        ["CronJob/osslist-scheduled-audit", "diff"]]


@pytest.mark.parametrize(("argv", "env"), [(a, e) for _, a, e in LISTINGS], ids=[i for i, _, _ in LISTINGS])
def test_container_args_parse_with_the_real_cli(
    argv: list[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from osslist.cli import main

    for name in [n for n in os.environ if n.startswith(("OSSLIST_", "ALIBABA_CLOUD_"))]:
        monkeypatch.delenv(name)
    assert not any("$(" in a for a in argv), f"unexpanded reference in {argv}"
    result = CliRunner().invoke(main, [*argv, "--dry-run"], env=env)
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    data = configmap_data()
    assert plan["connection"]["bucket"] == data["OSSLIST_BUCKET"]
    assert plan["connection"]["endpoint"].endswith(data["OSSLIST_ENDPOINT"])
    if "OSSLIST_OUTPUT" in env:  # the report's key, resolved as the pod would (job name, shard)
        assert plan["output"]["path"] == env["OSSLIST_OUTPUT"].replace("{env:JOB_NAME}", env["JOB_NAME"]).replace(
            "{shard}", env.get("JOB_COMPLETION_INDEX", "{shard}"))
    if "--shard-index" in argv:
        assert plan["scale"]["shard_index"] == int(env["JOB_COMPLETION_INDEX"])
        assert plan["scale"]["shard_count"] == int(arg_after(argv, "--shard-count"))


# --- read-only root file system --------------------------------------------------------------


def unexpected_writes(root: Path, *, allowed_dirs: list[Path], allowed_files: list[Path]) -> list[Path]:
    """Files under root that are neither in an allowed folder nor an allowed file."""
    return sorted(
        p for p in root.rglob("*")
        if p.is_file() and p not in allowed_files and not any(d in p.parents for d in allowed_dirs)
    )


def test_unexpected_writes_sees_a_stray_file(tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()
    (tmp_path / "tmp" / "scratch").write_text("ok")
    (tmp_path / "out.jsonl").write_text("ok")
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "stray").write_text("no")
    found = unexpected_writes(tmp_path, allowed_dirs=[tmp_path / "tmp"], allowed_files=[tmp_path / "out.jsonl"])
    assert found == [tmp_path / ".cache" / "stray"]


def test_a_real_listing_writes_only_under_tmpdir_and_its_output(emulator: Any, tmp_path: Path) -> None:
    """What readOnlyRootFilesystem + an emptyDir at /tmp needs: HOME and TMPDIR are the only
    scratch space (as in the image), the working directory is read-only, and the run leaves
    nothing anywhere but there and in --output / --checkpoint (and the checkpoint's lock file)."""
    import subprocess
    import sys

    emulator.create_bucket("audit-bucket")
    keys = [f"logs/{i:03d}.gz" for i in range(25)]
    for key in keys:
        emulator.put_object("audit-bucket", key, size=7)
    scratch, cwd, out = tmp_path / "tmp", tmp_path / "cwd", tmp_path / "out"
    for folder in (scratch, cwd, out):
        folder.mkdir()
    cwd.chmod(0o555)
    output, checkpoint = out / "listing.jsonl", out / "listing.checkpoint"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(scratch),
        "TMPDIR": str(scratch),
        "PYTHONDONTWRITEBYTECODE": "1",  # as the image sets it
        "ALIBABA_CLOUD_IMDS_ENDPOINT": emulator.metadata_url,
    }
    argv = [
        str(Path(sys.executable).parent / "osslist"), "ls", "--bucket", "audit-bucket",
        "--endpoint", emulator.oss_endpoint, "--region", "cn-hangzhou", "--credentials", "metadata",
        "--max-keys", "10", "--format", "jsonl", "--no-progress",
        "--output", str(output), "--checkpoint", str(checkpoint),
    ]
    try:
        result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False)
    finally:
        cwd.chmod(0o755)
    assert result.returncode == 0, result.stderr
    assert [json.loads(line)["key"] for line in output.read_text().splitlines()] == keys
    assert not any(cwd.iterdir())
    lock = out / "listing.checkpoint.lock"
    assert unexpected_writes(tmp_path, allowed_dirs=[scratch], allowed_files=[output, checkpoint, lock]) == []


# --- the scheduled audit, run twice against the emulator --------------------------------------


def test_the_cronjob_lists_into_an_inventory_then_diffs_the_two_newest() -> None:
    [(_, cron)] = docs_of("CronJob")
    spec = pod_template(cron)["spec"]
    assert [c["name"] for c in spec["initContainers"]] == ["inventory"] and [c["name"] for c in spec["containers"]] == ["diff"]
    [(_, listing, env), (_, diff, _)] = osslist_steps(cron, job_labels(cron), {})
    assert listing[0] == "ls" and arg_after(listing, "--format") == "oss-inventory"
    folder = env["OSSLIST_OUTPUT"]
    assert folder.startswith("oss://") and folder.endswith("/") and "{" not in folder  # every run in one folder
    # one checkpoint per Job: its retries resume (or find the report done) rather than add one
    assert env["OSSLIST_CHECKPOINT"].startswith(folder) and "{env:JOB_NAME}" in env["OSSLIST_CHECKPOINT"]
    assert diff[:2] == ["diff", folder] and "--exit-zero" in diff  # changes are no failure; trouble is
    assert arg_after(diff, "--output") == f"{folder}{{report}}/changes.jsonl.gz"  # beside the newer manifest


def run_scheduled_audit(emulator: Any, job_name: str, *, only: str | None = None) -> list[Any]:
    """One CronJob run: its steps' argv and env as the kubelet would give them (the Job named
    ``job_name``), with only the endpoint and the metadata server moved to the emulator; each
    step runs only when the one before exited 0, as the kubelet runs init containers
    (``only``: just the step of that container)."""
    from click.testing import CliRunner

    from osslist.cli import main

    [(_, cron)] = docs_of("CronJob")
    results = []
    for name, argv, env in osslist_steps(cron, job_labels(cron, job_name), {}):
        if only not in (None, name):
            continue
        env = {**env, "OSSLIST_ENDPOINT": emulator.oss_endpoint, "ALIBABA_CLOUD_IMDS_ENDPOINT": emulator.metadata_url}
        results.append(CliRunner().invoke(main, argv, env=env))
        if results[-1].exit_code != 0:
            break
    return results


def move_report(emulator: Any, bucket: str, manifest: str, folder: str) -> str:
    """Date a report back: its manifest.json and manifest.checksum into another time folder
    (two runs within one minute would share a folder); returns the new manifest key."""
    base = manifest.rsplit("/", 2)[0]
    for name in ("manifest.json", "manifest.checksum"):
        emulator.put_object(bucket, f"{base}/{folder}/{name}", data=emulator.object_data(bucket, f"{manifest[:-13]}{name}"))
        emulator.delete_object(bucket, f"{manifest[:-13]}{name}")
    return f"{base}/{folder}/manifest.json"


def disallowed_requests(emulator: Any, policy: dict[str, Any]) -> tuple[list[str], set[int]]:
    """(the OSS requests ram-policy.json would refuse, the statements that allowed the others)."""
    from urllib.parse import unquote

    from osslist.emulator.routes import route

    refused, used = [], set()
    for request in emulator.requests_for("oss"):
        bucket, _, key = unquote(request.path).lstrip("/").partition("/")
        action = route(request.method, bool(key), request.query).action
        index = policy_allows(policy, action, bucket, key, prefix=request.query.get("prefix", ""))
        if index is None:
            refused.append(f"{action} {bucket}/{key} {request.query}")
        else:
            used.add(index)
    return refused, used


def test_the_scheduled_audit_keeps_each_runs_changes_beside_its_report(
    emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CronJob's own steps, run twice with changes to the bucket in between: the first run
    writes a report and has nothing to compare (exit 0, no changes file); the second writes its
    report and, beside its manifest.json, exactly the changes; every OSS request of both runs is
    one that k8s/ram-policy.json allows, and each of its statements is needed."""
    import gzip
    from datetime import datetime, timedelta

    from click.testing import CliRunner

    from osslist.cli import main

    for name in [n for n in os.environ if n.startswith(("OSSLIST_", "ALIBABA_CLOUD_"))]:
        monkeypatch.delenv(name)
    [(_, _, env)] = [inv for inv in INVOCATIONS if inv[0].endswith(":CronJob/osslist-scheduled-audit:inventory:None")]
    audited, (reports, _, prefix) = env["OSSLIST_BUCKET"], env["OSSLIST_OUTPUT"].removeprefix("oss://").partition("/")
    emulator.create_bucket(reports)
    emulator.create_bucket(audited)
    for i in range(40):
        emulator.put_object(audited, f"logs/{i:03d}.gz", size=100 + i)

    first = run_scheduled_audit(emulator, "osslist-scheduled-audit-29412345")
    assert [r.exit_code for r in first] == [0, 0], [r.stderr for r in first]
    assert "1 inventory report(s)" in first[1].stderr and "nothing to compare yet" in first[1].stderr
    [manifest] = [k for k in emulator.buckets.require(reports).keys() if k.endswith("/manifest.json")]
    assert manifest.startswith(prefix) and not [k for k in emulator.buckets.require(reports).keys() if "changes" in k]
    started = datetime.strptime(manifest.split("/")[-2], "%Y-%m-%dT%H-%MZ")
    yesterday = move_report(emulator, reports, manifest, (started - timedelta(days=1)).strftime("%Y-%m-%dT%H-%MZ"))

    emulator.put_object(audited, "logs/new.gz", size=5)  # added
    emulator.delete_object(audited, "logs/003.gz")  # removed
    emulator.put_object(audited, "logs/007.gz", size=999)  # modified: size
    emulator.put_object(audited, "logs/009.gz", size=109, storage_class="IA")  # modified: storage class
    second = run_scheduled_audit(emulator, "osslist-scheduled-audit-29413785")
    assert [r.exit_code for r in second] == [0, 0], [r.stderr for r in second]  # changes are no failure
    [today] = [k for k in emulator.buckets.require(reports).keys() if k.endswith("/manifest.json") and k != yesterday]
    assert f"{yesterday} -> oss://{reports}/{today}" in second[1].stderr
    changes_key = today.replace("/manifest.json", "/changes.jsonl.gz")
    changes = [json.loads(line) for line in gzip.decompress(emulator.object_data(reports, changes_key)).splitlines()]
    assert {(c["change"], c["key"]) for c in changes} == {
        ("added", "logs/new.gz"), ("removed", "logs/003.gz"), ("modified", "logs/007.gz"), ("modified", "logs/009.gz")}
    fields = {c["key"]: c["fields"] for c in changes}
    assert "size" in fields["logs/007.gz"] and "storage_class" in fields["logs/009.gz"] and len(changes) == 4
    summary = json.loads(emulator.object_data(reports, today.replace("/manifest.json", "/changes-summary.json")))
    assert [summary["changes"][name]["objects"] for name in ("added", "removed", "modified")] == [1, 1, 2], summary
    assert not summary["same"]

    # A pod of the same Job again (as after a failed diff step): the inventory step finds its
    # checkpoint finished and adds no report; the diff finds the same two (the changes file is
    # never taken for a report) and writes the same changes.
    emulator.put_object(audited, "logs/later.gz", size=1)
    retry = run_scheduled_audit(emulator, "osslist-scheduled-audit-29413785")
    assert [r.exit_code for r in retry] == [0, 0] and "nothing listed" in retry[0].stderr, [r.stderr for r in retry]
    assert [k for k in emulator.buckets.require(reports).keys() if k.endswith("/manifest.json")] == [yesterday, today]
    assert f"{yesterday} -> oss://{reports}/{today}" in retry[1].stderr, retry[1].stderr
    rewritten = gzip.decompress(emulator.object_data(reports, changes_key)).splitlines()
    assert [json.loads(line) for line in rewritten] == changes

    refused, used = disallowed_requests(emulator, load_json("ram-policy.json"))
    assert refused == [] and used == {0, 1, 2}  # 3 (ListMultipartUploads) serves resumes: the next test
    assert disallowed_requests(emulator, load_json("ram-policy-audit.json"))[0] == []

    # README's way to find them (with a person's own credentials, here the emulator's role).
    person = {"OSSLIST_REGION": env["OSSLIST_REGION"], "ALIBABA_CLOUD_IMDS_ENDPOINT": emulator.metadata_url}
    connect = ["--endpoint", emulator.oss_endpoint]
    found = CliRunner().invoke(main, ["ls", "--bucket", reports, "--prefix", prefix, *connect,
                                      "--include", "*/manifest.json"], env=person)
    assert found.stdout.splitlines()[-2:] == [yesterday, today], found.stderr
    newest = CliRunner().invoke(main, ["ls", "--bucket", reports, "--prefix", prefix, *connect,
                                       "--include", "*/changes.jsonl.gz"], env=person)
    assert newest.stdout.splitlines()[-1:] == [changes_key], newest.stderr
    read = CliRunner().invoke(main, ["cat", f"oss://{reports}/{changes_key}", *connect], env=person)
    assert [json.loads(line) for line in read.stdout.splitlines()] == changes, read.stderr


def test_the_jobs_next_pod_aborts_an_upload_a_pod_killed_before_its_first_save_left(
    emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """k8s/job.yaml's own step, as the Job's next pod after one killed before it saved a
    checkpoint: it finds that pod's upload with ListMultipartUploads (the fourth statement of
    k8s/ram-policy.json), aborts it, and writes the report; every request is one the policy allows."""
    from click.testing import CliRunner

    from osslist.cli import main

    for name in [n for n in os.environ if n.startswith(("OSSLIST_", "ALIBABA_CLOUD_"))]:
        monkeypatch.delenv(name)
    [(_, argv, env)] = [inv for inv in INVOCATIONS if inv[0].startswith("job.yaml:")]
    audited = env["OSSLIST_BUCKET"]
    output = env["OSSLIST_OUTPUT"].replace("{env:JOB_NAME}", env["JOB_NAME"])
    reports, _, key = output.removeprefix("oss://").partition("/")
    emulator.create_bucket(audited)
    emulator.create_bucket(reports)
    for i in range(30):
        emulator.put_object(audited, f"logs/{i:03d}.gz", size=10 + i)
    left = emulator.uploads.initiate(reports, key, now=int(time.time()), content_type="x", storage_class="Standard")
    assert emulator.open_uploads(reports) == [(key, left.upload_id)]

    env = {**env, "OSSLIST_ENDPOINT": emulator.oss_endpoint, "ALIBABA_CLOUD_IMDS_ENDPOINT": emulator.metadata_url}
    result = CliRunner().invoke(main, argv, env=env)
    assert result.exit_code == 0, result.stderr
    assert emulator.open_uploads(reports) == []
    assert emulator.object_data(reports, key)
    refused, used = disallowed_requests(emulator, load_json("ram-policy.json"))
    assert refused == [] and 3 in used


def test_a_sharded_schedule_keeps_one_report_per_run_and_diffs_the_last_two_manifests(
    emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README "A sharded inventory on a schedule": each run's shards write under a prefix of
    the Job's own, so `diff FOLDER/` there finds one report; the last two manifest.json keys
    (Job names sort in time order) compared by name give the changes. Every request is one
    k8s/ram-policy.json allows."""
    from click.testing import CliRunner

    from osslist.cli import main

    for name in [n for n in os.environ if n.startswith(("OSSLIST_", "ALIBABA_CLOUD_"))]:
        monkeypatch.delenv(name)
    [(_, _, cron_env)] = [inv for inv in INVOCATIONS if inv[0].endswith(":CronJob/osslist-scheduled-audit:inventory:None")]
    folder = cron_env["REPORTS"]
    reports, _, prefix = folder.removeprefix("oss://").partition("/")
    audited = cron_env["OSSLIST_BUCKET"]
    emulator.create_bucket(reports)
    emulator.create_bucket(audited)
    for i in range(40):
        emulator.put_object(audited, f"{'ab'[i % 2]}/{i:03d}.gz", size=100 + i)
    base = {"OSSLIST_BUCKET": audited, "OSSLIST_REGION": cron_env["OSSLIST_REGION"],
            "OSSLIST_ENDPOINT": emulator.oss_endpoint, "ALIBABA_CLOUD_IMDS_ENDPOINT": emulator.metadata_url,
            "OSSLIST_OUTPUT": f"{folder}{{env:JOB_NAME}}/",
            "OSSLIST_CHECKPOINT": f"{folder}{{env:JOB_NAME}}/checkpoints/{{shard}}.json",
            "OSSLIST_SUMMARY_JSON": f"{folder}{{env:JOB_NAME}}/summaries/{{shard}}.json"}

    def run(job: str) -> None:
        for index in ("0", "1"):
            result = CliRunner().invoke(main, ["ls", "--credentials", "metadata", "--format", "oss-inventory",
                                               "--no-progress", "--shard-index", index, "--shard-count", "2"],
                                        env={**base, "JOB_NAME": job})
            assert result.exit_code == 0, result.stderr

    run("osslist-scheduled-audit-29412345")
    emulator.put_object(audited, "a/new.gz", size=5)
    emulator.delete_object(audited, "b/003.gz")
    run("osslist-scheduled-audit-29413785")

    connect = ["--endpoint", emulator.oss_endpoint]
    person = {"OSSLIST_REGION": cron_env["OSSLIST_REGION"], "ALIBABA_CLOUD_IMDS_ENDPOINT": emulator.metadata_url}
    alone = CliRunner().invoke(main, ["diff", f"{folder}osslist-scheduled-audit-29413785/", *connect], env=person)
    assert alone.exit_code == 0 and "nothing to compare yet" in alone.stderr, alone.stderr
    found = CliRunner().invoke(main, ["ls", "--bucket", reports, "--prefix", prefix, *connect,
                                      "--include", "*/manifest.json"], env=person)
    older, newer = found.stdout.splitlines()[-2:]
    assert "-29412345/" in older and "-29413785/" in newer, found.stdout
    changes_key = newer.removesuffix("/manifest.json") + "/changes.jsonl.gz"
    diff = CliRunner().invoke(main, ["diff", f"oss://{reports}/{older}", f"oss://{reports}/{newer}", "--exit-zero",
                                     "--output", f"oss://{reports}/{changes_key}", *connect], env=person)
    assert diff.exit_code == 0, diff.stderr
    changes = [json.loads(line) for line in gzip.decompress(emulator.object_data(reports, changes_key)).splitlines()]
    assert {(c["change"], c["key"]) for c in changes} == {("added", "a/new.gz"), ("removed", "b/003.gz")}
    assert disallowed_requests(emulator, load_json("ram-policy.json"))[0] == []
