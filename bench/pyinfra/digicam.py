"""The squad-deploy benchmark (shared/bench-scenario/README.md) for pyinfra: 17 tasks and 2
handlers per squad, as the squad's own account. Identical work in ../recon/digicam.yml and
../ansible/digicam.yml: the same fixtures, the same release tarball, the same template variables.

Run by bench/nodes.sh: pyinfra -y --parallel N INVENTORY bench/pyinfra/digicam.py. Each
inventory host carries squad, home, app_port, nginx_port, domain (as the YAML inventories do).
"""

import os
from io import StringIO

from pyinfra import host
from pyinfra.facts.files import Directory
from pyinfra.operations import files, server
from pyinfra.operations.util import any_changed

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(BENCH, "fixtures")
RELEASE = "1.0.0"

squad, home = host.data.squad, host.data.home
d = f"{home}/digicam"
tpl = {"squad": squad, "home": home, "nginx_port": host.data.nginx_port, "domain": host.data.domain}

# Operation names are the same on every host (pyinfra shows one name per operation).
for n, (sub, mode) in enumerate(
    [("", "755"), ("releases", "755"), ("conf", "755"), ("bin", "755"), ("logs", "750"), ("run", "750")], 1
):
    files.directory(name=f"0{n} {sub or 'digicam'} dir", path=f"{d}/{sub}".rstrip("/"), mode=mode)

files.put(
    name="07 upload release",
    src=os.path.join(BENCH, ".state", f"digicam-{RELEASE}.tar.gz"),
    dest=f"{d}/releases/digicam-{RELEASE}.tar.gz",
    mode="644",
)
# Ansible's `creates:`: the unpack is planned only while the release folder is missing.
unpack = None
if not host.get_fact(Directory, path=f"{d}/v{RELEASE}"):
    tmp = f"{d}/.v{RELEASE}.tmp"
    unpack = server.shell(
        name="08 unpack release",
        commands=[
            f"rm -rf {tmp} && mkdir {tmp} && tar -xzf {d}/releases/digicam-{RELEASE}.tar.gz -C {tmp}"
            f" && mv {tmp} {d}/v{RELEASE}"
        ],
    )
link = files.link(name="09 current release link", path=f"{d}/current", target=f"v{RELEASE}")

nginx_block = files.template(
    name="10 nginx server block", src=os.path.join(FIXTURES, "nginx.conf.j2"), dest=f"{d}/conf/nginx.conf",
    mode="644", port=host.data.app_port, **tpl,
)
program = files.template(
    name="11 supervisor program", src=os.path.join(FIXTURES, "supervisor.conf.j2"),
    dest=f"{d}/conf/supervisor.conf", mode="644", port=host.data.app_port, **tpl,
)
nginx_main = files.template(
    name="12 nginx main config", src=os.path.join(FIXTURES, "nginx-main.conf.j2"),
    dest=f"{d}/conf/nginx-main.conf", mode="644", **tpl,
)
supervisord_main = files.template(
    name="13 supervisord main config", src=os.path.join(FIXTURES, "supervisord-main.conf.j2"),
    dest=f"{d}/conf/supervisord-main.conf", mode="644", **tpl,
)
files.put(name="14 nginx-reload script", src=os.path.join(FIXTURES, "nginx-reload"), dest=f"{d}/bin/nginx-reload", mode="755")
files.put(
    name="15 supervisor-apply script", src=os.path.join(FIXTURES, "supervisor-apply"),
    dest=f"{d}/bin/supervisor-apply", mode="755",
)
env = f"SQUAD={squad}\nPORT={host.data.app_port}\nDOMAIN={host.data.domain}\nRELEASE={RELEASE}\n"
files.put(name="16 env file", src=StringIO(env), dest=f"{d}/.env", mode="640")
files.line(
    name="17 DIGICAM_HOME in profile", path=f"{home}/.profile", line="^export DIGICAM_HOME=.*$",
    replace=f"export DIGICAM_HOME={d}",
)

# Handlers: once, after every task, nginx first.
server.shell(name="nginx reload", commands=[f"{d}/bin/nginx-reload"], _if=any_changed(nginx_block, nginx_main))
supervisor_triggers = [op for op in (unpack, link, program, supervisord_main) if op is not None]
server.shell(
    name="supervisor apply",
    commands=[f"{d}/bin/supervisor-apply digicam-{squad}"],
    _if=any_changed(*supervisor_triggers),
)
