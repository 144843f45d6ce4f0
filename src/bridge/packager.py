# recon's module packager: runs under the Python of the control machine's Ansible and builds
# each bridged task's module payload with ansible-core's own code (the AnsiballZ wrapper
# `ansible-playbook` sends), so recon never reimplements Ansible's packaging. One JSON request
# per line on stdin, one JSON answer per line on stdout:
#   {"op": "resolve", "name": N, "collections": [...], "dirs": [...]}
#       -> {"ok": true, "name": FQCN} | {"ok": false, "error": TEXT}
#   {"op": "build", "name": N, "args": {...}, "check": B, "collections": [...], "dirs": [...],
#    "python": P} -> {"ok": true, "payload": BASE64} | {"ok": false, "error": TEXT}
import base64
import json
import os
import sys
import warnings

warnings.simplefilter("ignore")
out = sys.stdout
sys.stdout = sys.stderr  # nothing Ansible prints may reach the answers


def answer(value):
    out.write(json.dumps(value) + "\n")
    out.flush()


try:
    from ansible import constants as C
    from ansible.executor import module_common
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import action_loader, init_plugin_loader, module_loader
    from ansible.template import Templar
except Exception as e:  # an unusable Ansible: every answer says why
    failure = "cannot import ansible-core: %s" % e
    for line in sys.stdin:
        answer({"ok": False, "error": failure})
    sys.exit(0)

started = []


def find(request):
    if not started:
        # Collections beside the playbook (`collections/ansible_collections/...`) come first,
        # then Ansible's own `collections_path` (ansible.cfg, ANSIBLE_COLLECTIONS_PATH). The
        # loader is set up once per run: one run reads one playbook.
        init_plugin_loader(list(request.get("dirs") or ()) + list(C.COLLECTIONS_PATHS))
        started.append(True)
    collections = request.get("collections") or []
    found = module_loader.find_plugin_with_context(request["name"], collection_list=collections)
    if not found.resolved or not found.plugin_resolved_path:
        return None
    return found


def handle(request):
    found = find(request)
    if found is None:
        return {"ok": False, "error": "the control machine's Ansible has no module `%s` (collections searched: %s)" % (
            request["name"], ", ".join(list(request.get("dirs") or []) + list(C.COLLECTIONS_PATHS)))}
    name = found.resolved_fqcn or request["name"]
    # A module with an action plugin of its own (`raw`, `script`, `command`, `dnf`,
    # `synchronize`...) does its work on the control machine, partly or wholly: its module code
    # alone is not the task, so it is never bridged.
    action = action_loader.find_plugin_with_context(name, collection_list=request.get("collections") or [])
    if action.resolved:
        return {"ok": False, "error": "`%s` runs through an action plugin on the control machine, which recon does not run: only modules that run wholly on the host are bridged" % name}
    if request["op"] == "resolve":
        return {"ok": True, "name": name}
    args = dict(request.get("args") or {})
    args["_ansible_check_mode"] = bool(request.get("check"))
    args["_ansible_diff"] = True
    args["_ansible_verbosity"] = 0
    built = module_common.modify_module(
        module_name=found.plugin_resolved_name,
        module_path=found.plugin_resolved_path,
        module_args=args,
        templar=Templar(loader=DataLoader()),
        task_vars={"ansible_python_interpreter": request.get("python") or "/usr/bin/python3"},
        module_compression="ZIP_DEFLATED",
    )
    if built.module_style != "new":
        return {"ok": False, "error": "module `%s` is a %s-style module: recon runs Ansible's Python modules only" % (name, built.module_style)}
    return {"ok": True, "name": name, "payload": base64.b64encode(built.b_module_data).decode()}


for line in sys.stdin:
    try:
        request = json.loads(line)
        answer(handle(request))
    except Exception as e:
        answer({"ok": False, "error": "%s: %s" % (type(e).__name__, e)})
