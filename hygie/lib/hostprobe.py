"""`hygie diagnostic`: what this computer can tell about its own security, with no Django.

Run on the server and on each workstation. Every probe answers "ok", "todo" or "unknown" with a
French sentence; a check that cannot be made here (no tool, no permission, another system) says
"unknown", never "ok". Probes read the system through a `Host` (commands, files, processes) so that
a test can give the answer of a system that cannot exist here (BitLocker on Linux), and only then.

Probes: full-disk encryption (LUKS, BitLocker, FileVault), pending security updates, an active
firewall, the screen lock delay, remote-assistance tools running or installed as services, time
synchronisation, the key file's permissions, whether the data directory sits on an encrypted
volume, and whether `hygie serve` listens beyond loopback without TLS.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import socket
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hygie.lib import selfcheck
from hygie.lib.keyfile import default_key_file

OK, TODO, UNKNOWN = selfcheck.OK, selfcheck.TODO, selfcheck.UNKNOWN
COMMAND_TIMEOUT = 60

# Remote-assistance tools (seed 003 §6: a session left open lets anyone back in).
REMOTE_TOOLS = {
    "teamviewer": "TeamViewer",
    "anydesk": "AnyDesk",
    "rustdesk": "RustDesk",
    "ammyy": "Ammyy Admin",
    "supremo": "Supremo",
    "splashtop": "Splashtop",
    "x11vnc": "VNC",
    "vncserver": "VNC",
    "tightvnc": "VNC",
    "ultravnc": "VNC",
    "winvnc": "VNC",
    "chrome-remote-desktop": "Chrome Remote Desktop",
    "remoting_host": "Chrome Remote Desktop",
    "dwagent": "DWService",
    "meshagent": "MeshCentral",
}


@dataclass(frozen=True)
class Finding:
    id: str
    label: str
    status: str
    detail: str


@dataclass
class Report:
    host: str
    system: str
    at: str
    findings: list[Finding] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"host": self.host, "system": self.system, "at": self.at, "checks": [asdict(f) for f in self.findings]}


class Host:
    """The real machine. Tests replace it only where a component cannot exist here."""

    def system(self) -> str:
        return platform.system()  # "Linux", "Windows", "Darwin"

    def name(self) -> str:
        return socket.gethostname()

    def has(self, program: str) -> bool:
        return shutil.which(program) is not None

    def run(self, argv: list[str]) -> tuple[int, str] | None:
        """(exit code, stdout + stderr), or None when the program is not installed or hangs."""
        if shutil.which(argv[0]) is None:
            return None
        try:
            done = subprocess.run(  # noqa: S603 - fixed argument lists, no shell
                argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False,
                env={**os.environ, "LC_ALL": "C", "LANG": "C"},
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.returncode, (done.stdout or "") + (done.stderr or "")

    def read(self, path: str) -> str | None:
        try:
            return Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None

    def processes(self) -> list[tuple[int, str]] | None:
        """(pid, command line) of every process, or None where /proc does not exist."""
        proc = Path("/proc")
        if not proc.is_dir():
            return None
        found = []
        for entry in proc.iterdir():
            if not entry.name.isdigit():
                continue
            try:
                raw = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            cmdline = raw.replace(b"\0", b" ").decode("utf-8", "replace").strip()
            if cmdline:
                found.append((int(entry.name), cmdline))
        return found

    def socket_inodes(self, pid: int) -> set[str] | None:
        try:
            links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            return None
        return {m.group(1) for link in links if (m := re.match(r"socket:\[(\d+)\]", link))}

    def environ(self, pid: int) -> dict[str, str] | None:
        try:
            raw = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            return None
        pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
        return {k.decode("utf-8", "replace"): v.decode("utf-8", "replace") for k, v in pairs}

    def graphical_session(self) -> bool:
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))

    def file_mode(self, path: Path) -> int | None:
        try:
            return path.stat().st_mode
        except OSError:
            return None


def _finding(id_: str, label: str, status: str, detail: str) -> Finding:
    return Finding(id_, label, status, detail)


# --- Disk encryption --------------------------------------------------------------------------

def _crypt_below(host: Host, path: str) -> bool | None:
    """Is `path` on a dm-crypt (LUKS) device? None when it cannot be told (overlay, tmpfs…)."""
    found = host.run(["findmnt", "-n", "-o", "SOURCE", "--target", path])
    if found is None or found[0] != 0:
        return None
    source = found[1].strip().splitlines()[0].split("[")[0] if found[1].strip() else ""
    if not source.startswith("/dev/"):
        return None
    tree = host.run(["lsblk", "-J", "-s", "-o", "NAME,TYPE", source])
    if tree is None or tree[0] != 0:
        return None
    try:
        data = json.loads(tree[1])
    except ValueError:
        return None

    def types(nodes: list[dict[str, Any]]) -> set[str]:
        out: set[str] = set()
        for node in nodes:
            out.add(str(node.get("type", "")))
            out |= types(node.get("children") or [])
        return out

    return "crypt" in types(data.get("blockdevices") or [])


def disk_encryption(host: Host) -> Finding:
    label = "Chiffrement du disque"
    system = host.system()
    if system == "Windows":
        out = host.run(["manage-bde", "-status", "C:"])
        if out is None:
            return _finding("disk_encryption", label, UNKNOWN, "BitLocker : état illisible (manage-bde absent ou "
                "droits insuffisants).")
        text = out[1]
        if re.search(r"Protection (Status:\s*)?(On|activée)", text, re.I):
            return _finding("disk_encryption", label, OK, "BitLocker protège le disque C:.")
        if re.search(r"Protection (Status:\s*)?(Off|désactivée)", text, re.I):
            return _finding("disk_encryption", label, TODO, "BitLocker n'est pas activé sur C: : activez-le "
                "(Paramètres › Confidentialité et sécurité › Chiffrement de l'appareil).")
        return _finding("disk_encryption", label, UNKNOWN, "BitLocker : réponse non reconnue (lancez en "
            "administrateur).")
    if system == "Darwin":
        out = host.run(["fdesetup", "status"])
        if out is None:
            return _finding("disk_encryption", label, UNKNOWN, "FileVault : état illisible.")
        if "FileVault is On" in out[1]:
            return _finding("disk_encryption", label, OK, "FileVault est activé.")
        if "FileVault is Off" in out[1]:
            return _finding("disk_encryption", label, TODO, "FileVault est désactivé : activez-le (Réglages › "
                "Confidentialité et sécurité).")
        return _finding("disk_encryption", label, UNKNOWN, "FileVault : réponse non reconnue.")
    if system == "Linux":
        crypt = _crypt_below(host, "/")
        if crypt is None:
            return _finding("disk_encryption", label, UNKNOWN, "Impossible de savoir si le disque système est chiffré "
                "(conteneur, montage sans périphérique, lsblk absent).")
        if crypt:
            return _finding("disk_encryption", label, OK, "Le système est sur un volume chiffré (LUKS).")
        return _finding("disk_encryption", label, TODO, "Le disque système n'est pas chiffré : réinstallez avec LUKS "
            "(chiffrement du disque) ou chiffrez le volume des données.")
    return _finding("disk_encryption", label, UNKNOWN, f"Système non pris en charge : {system}.")


def data_dir_encryption(host: Host, data_dir: Path | None) -> Finding:
    label = "Répertoire de données sur un volume chiffré"
    if data_dir is None or not data_dir.exists():
        return _finding("data_dir_encryption", label, UNKNOWN, "Pas de répertoire de données Hygie ici (poste de "
            "travail ?).")
    if host.system() != "Linux":
        return _finding("data_dir_encryption", label, UNKNOWN, "Vérifiez le chiffrement du disque (ligne précédente) "
            ": il couvre le répertoire de données s'il est sur le disque système.")
    crypt = _crypt_below(host, str(data_dir))
    if crypt is None:
        return _finding("data_dir_encryption", label, UNKNOWN, f"Impossible de savoir si {data_dir} est sur un volume "
            "chiffré.")
    if crypt:
        return _finding("data_dir_encryption", label, OK, f"{data_dir} est sur un volume chiffré (LUKS).")
    return _finding("data_dir_encryption", label, TODO, f"{data_dir} n'est pas sur un volume chiffré : les données "
        "sont chiffrées par Hygie, mais pas les journaux techniques ni les fichiers temporaires.")


# --- Updates, firewall ---------------------------------------------------------------------

def security_updates(host: Host) -> Finding:
    label = "Mises à jour de sécurité en attente"
    system = host.system()
    if system == "Linux" and host.has("apt-get"):
        out = host.run(["apt-get", "-s", "-o", "Debug::NoLocking=1", "upgrade"])
        if out is None or out[0] != 0:
            return _finding("security_updates", label, UNKNOWN, "apt-get n'a pas pu simuler la mise à jour.")
        pending = [line for line in out[1].splitlines() if line.startswith("Inst ") and "security" in line.lower()]
        if pending:
            return _finding("security_updates", label, TODO, f"{len(pending)} mise(s) à jour de sécurité en attente : "
                "lancez « apt-get upgrade » et activez unattended-upgrades.")
        return _finding("security_updates", label, OK, "Aucune mise à jour de sécurité en attente (selon les listes "
            "de paquets locales).")
    if system == "Linux" and host.has("dnf"):
        out = host.run(["dnf", "-q", "updateinfo", "list", "--security"])
        if out is None or out[0] != 0:
            return _finding("security_updates", label, UNKNOWN, "dnf n'a pas pu lister les mises à jour de sécurité.")
        count = len([line for line in out[1].splitlines() if line.strip()])
        if count:
            return _finding("security_updates", label, TODO, f"{count} mise(s) à jour de sécurité en attente : lancez "
                "« dnf upgrade --security ».")
        return _finding("security_updates", label, OK, "Aucune mise à jour de sécurité en attente.")
    return _finding("security_updates", label, UNKNOWN, "Vérifiez Windows Update ou les mises à jour macOS (non "
        "détectable ici).")


def firewall(host: Host) -> Finding:
    label = "Pare-feu actif"
    system = host.system()
    if system == "Windows":
        out = host.run(["netsh", "advfirewall", "show", "allprofiles", "state"])
        if out is None:
            return _finding("firewall", label, UNKNOWN, "État du pare-feu Windows illisible.")
        states = re.findall(r"(?:State|État)\s+(ON|OFF|Actif|Inactif)", out[1], re.I)
        if states and all(s.upper() in ("ON", "ACTIF") for s in states):
            return _finding("firewall", label, OK, "Le pare-feu Windows est actif sur tous les profils.")
        if states:
            return _finding("firewall", label, TODO, "Le pare-feu Windows est désactivé sur au moins un profil.")
        return _finding("firewall", label, UNKNOWN, "Réponse du pare-feu Windows non reconnue.")
    if system == "Darwin":
        out = host.run(["/usr/libexec/ApplicationFirewall/socketfilterfw", "--getglobalstate"])
        if out is None:
            return _finding("firewall", label, UNKNOWN, "État du pare-feu macOS illisible.")
        if "enabled" in out[1].lower():
            return _finding("firewall", label, OK, "Le pare-feu macOS est actif.")
        return _finding("firewall", label, TODO, "Le pare-feu macOS est désactivé (Réglages › Réseau › Coupe-feu).")
    if system != "Linux":
        return _finding("firewall", label, UNKNOWN, f"Système non pris en charge : {system}.")
    ufw = host.run(["ufw", "status"])
    if ufw is not None and ufw[0] == 0:
        if "Status: active" in ufw[1]:
            return _finding("firewall", label, OK, "Pare-feu ufw actif.")
    fwd = host.run(["firewall-cmd", "--state"])
    if fwd is not None and fwd[1].strip() == "running":
        return _finding("firewall", label, OK, "Pare-feu firewalld actif.")
    nft = host.run(["nft", "list", "ruleset"])
    if nft is not None and nft[0] == 0:
        if re.search(r"hook input.*policy drop|hook input[\s\S]*?(drop|reject)", nft[1]):
            return _finding("firewall", label, OK, "Règles nftables actives qui filtrent les connexions entrantes.")
        return _finding("firewall", label, TODO, "Aucune règle de pare-feu ne filtre les connexions entrantes : "
            "activez ufw (« ufw enable ») ou nftables.")
    if ufw is not None and ufw[0] == 0 and "inactive" in ufw[1]:
        return _finding("firewall", label, TODO, "Le pare-feu ufw est inactif : « ufw enable ».")
    return _finding("firewall", label, UNKNOWN, "Impossible de lire les règles du pare-feu (lancez en administrateur, "
        "ou nft/ufw absents).")


# --- Screen lock ----------------------------------------------------------------------------

def screen_lock(host: Host) -> Finding:
    label = "Verrouillage de l'écran"
    limit = selfcheck.SCREEN_LOCK_MAX_MINUTES
    system = host.system()
    if system == "Windows":
        out = host.run(["reg", "query", r"HKCU\Control Panel\Desktop", "/v", "ScreenSaveTimeOut"])
        if out is None or out[0] != 0:
            return _finding("screen_lock", label, UNKNOWN, "Délai de verrouillage Windows illisible.")
        match = re.search(r"ScreenSaveTimeOut\s+REG_SZ\s+(\d+)", out[1])
        if not match:
            return _finding("screen_lock", label, UNKNOWN, "Délai de verrouillage Windows non défini ici (peut-être "
                "fixé par une stratégie).")
        seconds = int(match.group(1))
    elif system == "Linux" and not host.graphical_session():
        # gsettings answers its defaults even without a desktop: only a real session counts.
        return _finding("screen_lock", label, UNKNOWN, "Pas de session graphique ici (serveur sans écran ?) : "
            "vérifiez le verrouillage sur chaque poste.")
    elif system == "Linux" and host.has("gsettings"):
        delay = host.run(["gsettings", "get", "org.gnome.desktop.session", "idle-delay"])
        enabled = host.run(["gsettings", "get", "org.gnome.desktop.screensaver", "lock-enabled"])
        if delay is None or enabled is None or delay[0] != 0 or enabled[0] != 0:
            return _finding("screen_lock", label, UNKNOWN, "Pas de session graphique GNOME lisible (serveur sans "
                "écran ?).")
        if enabled[1].strip() != "true":
            return _finding("screen_lock", label, TODO, "Le verrouillage automatique de l'écran est désactivé.")
        match = re.search(r"(\d+)\s*$", delay[1].strip())
        if not match:
            return _finding("screen_lock", label, UNKNOWN, "Délai d'inactivité illisible.")
        seconds = int(match.group(1))
    else:
        return _finding("screen_lock", label, UNKNOWN, "Délai de verrouillage non détectable sur ce système : "
            "vérifiez-le dans les réglages.")
    if seconds == 0:
        return _finding("screen_lock", label, TODO, "L'écran ne se verrouille jamais tout seul.")
    minutes = seconds / 60
    if minutes > limit:
        return _finding("screen_lock", label, TODO, f"L'écran se verrouille après {minutes:g} min : réglez {limit} "
            "min au plus.")
    return _finding("screen_lock", label, OK, f"L'écran se verrouille après {minutes:g} min.")


# --- Remote assistance -----------------------------------------------------------------------

def _tools_in(text: str) -> set[str]:
    low = text.lower()
    return {name for key, name in REMOTE_TOOLS.items() if key in low}


def remote_assistance(host: Host) -> Finding:
    label = "Outils d'assistance à distance"
    system = host.system()
    running: set[str] = set()
    services: set[str] = set()
    checked = False
    if system == "Windows":
        tasks = host.run(["tasklist"])
        if tasks is not None:
            checked = True
            running = _tools_in(tasks[1])
        svc = host.run(["sc", "query", "type=", "service", "state=", "all"])
        if svc is not None:
            services = _tools_in(svc[1])
    else:
        procs = host.processes()
        if procs is not None:
            checked = True
            for _pid, cmdline in procs:
                running |= _tools_in(cmdline.split(" ")[0])
        units = host.run(["systemctl", "list-unit-files", "--no-legend", "--no-pager"])
        if units is not None and units[0] == 0:
            services = _tools_in(units[1])
        if system == "Darwin":
            agents = host.run(["launchctl", "list"])
            if agents is not None:
                checked = True
                running |= _tools_in(agents[1])
    if not checked:
        return _finding("remote_assistance", label, UNKNOWN, "Liste des processus illisible.")
    if running:
        return _finding("remote_assistance", label, TODO, "En cours d'exécution : "
            "" + ", ".join(sorted(running)) + ". Fermez la "
            "session, arrêtez le logiciel, changez son mot de passe permanent, redémarrez (fiche seed 003 §6).")
    if services:
        return _finding("remote_assistance", label, TODO, "Installé comme service (démarre tout seul) : "
            "" + ", ".join(sorted(services)) + ". Désactivez le service hors intervention.")
    return _finding("remote_assistance", label, OK, "Aucun logiciel d'assistance à distance connu en cours "
        "d'exécution ni installé comme service.")


# --- Time ------------------------------------------------------------------------------------

def time_sync(host: Host) -> Finding:
    label = "Synchronisation de l'horloge"
    system = host.system()
    if system == "Linux":
        out = host.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
        if out is not None and out[0] == 0 and out[1].strip() in ("yes", "no"):
            if out[1].strip() == "yes":
                return _finding("time_sync", label, OK, "Horloge synchronisée (NTP).")
            return _finding("time_sync", label, TODO, "Horloge non synchronisée : activez « timedatectl set-ntp true "
                "» (l'heure du journal en dépend).")
        chrony = host.run(["chronyc", "tracking"])
        if chrony is not None and chrony[0] == 0:
            if "Not synchronised" in chrony[1] or "Leap status     : Not" in chrony[1]:
                return _finding("time_sync", label, TODO, "chrony ne synchronise pas l'horloge.")
            return _finding("time_sync", label, OK, "Horloge synchronisée (chrony).")
        return _finding("time_sync", label, UNKNOWN, "Ni timedatectl ni chrony ne répondent (conteneur ?) : l'horloge "
            "dépend de l'hôte.")
    if system == "Windows":
        out = host.run(["w32tm", "/query", "/status"])
        if out is None or out[0] != 0:
            return _finding("time_sync", label, UNKNOWN, "Service de temps Windows illisible.")
        return _finding("time_sync", label, OK, "Service de temps Windows actif.")
    if system == "Darwin":
        out = host.run(["systemsetup", "-getusingnetworktime"])
        if out is not None and "On" in out[1]:
            return _finding("time_sync", label, OK, "Heure réseau activée.")
        if out is not None and "Off" in out[1]:
            return _finding("time_sync", label, TODO, "Heure réseau désactivée.")
    return _finding("time_sync", label, UNKNOWN, "Synchronisation de l'horloge non détectable ici.")


# --- Hygie's own files and server --------------------------------------------------------------

def key_file(host: Host, path: Path, data_dir: Path | None) -> Finding:
    label = "Droits du fichier de clés"
    mode = host.file_mode(path)
    if mode is None:
        return _finding("key_file", label, UNKNOWN, f"Pas de fichier de clés en {path} (poste de travail, ou "
            "HYGIE_KEY_FILE ailleurs).")
    if data_dir is not None:
        try:
            inside = path.resolve().is_relative_to(data_dir.resolve())
        except OSError:
            inside = False
        if inside:
            return _finding("key_file", label, TODO, "Le fichier de clés est dans le répertoire de données : une "
                "copie des données emporterait les clés. Déplacez-le (HYGIE_KEY_FILE).")
    if host.system() == "Windows":
        return _finding("key_file", label, UNKNOWN, "Droits NTFS non vérifiés : le fichier doit n'être lisible que "
            "par le compte qui fait tourner Hygie.")
    if stat.S_IMODE(mode) & 0o077:
        return _finding("key_file", label, TODO, "Le fichier de clés est lisible par d'autres comptes (droits "
            f"{stat.S_IMODE(mode):o}) : « chmod 600 {path} ».")
    return _finding("key_file", label, OK, "Fichier de clés réservé à son propriétaire (droits "
        f"{stat.S_IMODE(mode):o}).")


_LOOPBACK = re.compile(r"^(127\.|::1$|::ffff:127\.)")


def _listening(host: Host) -> dict[str, str]:
    """Socket inode → listening address, from /proc/net/tcp and tcp6."""
    found: dict[str, str] = {}
    for name, v6 in (("/proc/net/tcp", False), ("/proc/net/tcp6", True)):
        text = host.read(name)
        if not text:
            continue
        for line in text.splitlines()[1:]:
            cols = line.split()
            if len(cols) < 10 or cols[3] != "0A":  # 0A: LISTEN
                continue
            addr_hex, port_hex = cols[1].split(":")
            raw = bytes.fromhex(addr_hex)
            if v6:
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                addr = socket.inet_ntop(socket.AF_INET6, words)
            else:
                addr = socket.inet_ntop(socket.AF_INET, raw[::-1])
            found[cols[9]] = f"{addr}:{int(port_hex, 16)}"
    return found


def serve_tls(host: Host) -> Finding:
    label = "Serveur Hygie et HTTPS"
    procs = host.processes()
    if procs is None:
        return _finding("serve_tls", label, UNKNOWN, "Processus illisibles sur ce système : vérifiez que « hygie "
            "serve » écoute sur 127.0.0.1 derrière un proxy HTTPS.")
    servers = [pid for pid, cmd in procs if re.search(r"(^|[\s/])hygie(\s+\S+)*\s+serve(\s|$)", cmd)]
    if not servers:
        return _finding("serve_tls", label, UNKNOWN, "« hygie serve » ne tourne pas sur cette machine.")
    listening = _listening(host)
    exposed: list[str] = []
    unknown = False
    https = False
    for pid in servers:
        inodes = host.socket_inodes(pid)
        env = host.environ(pid)
        if inodes is None or env is None:
            unknown = True
            continue
        https = https or env.get("HYGIE_BASE_URL", "").startswith("https://")
        for inode in inodes:
            address = listening.get(inode)
            if address and not _LOOPBACK.match(address.rsplit(":", 1)[0]):
                exposed.append(address)
    if exposed and not https:
        return _finding("serve_tls", label, TODO, "« hygie serve » écoute sur "
            "" + ", ".join(sorted(set(exposed))) + " sans HTTPS : les "
            "mots de passe et les dossiers circulent en clair. Écoutez sur 127.0.0.1 derrière un proxy HTTPS.")
    if unknown:
        return _finding("serve_tls", label, UNKNOWN, "« hygie serve » tourne sous un autre compte : relancez le "
            "diagnostic avec ce compte ou en administrateur.")
    if exposed:
        return _finding("serve_tls", label, OK, "« hygie serve » écoute sur le réseau, derrière HTTPS (HYGIE_BASE_URL "
            "en https://).")
    return _finding("serve_tls", label, OK, "« hygie serve » n'écoute que sur la boucle locale (127.0.0.1).")


# --- The whole run ---------------------------------------------------------------------------

def run_all(host: Host | None = None, *, key_path: Path | None = None, data_dir: Path | None = None,
            now: Callable[[], datetime] | None = None) -> Report:
    host = host or Host()
    key_path = key_path or Path(os.environ.get("HYGIE_KEY_FILE") or default_key_file()).expanduser()
    if data_dir is None and os.environ.get("HYGIE_DATA_DIR"):
        data_dir = Path(os.environ["HYGIE_DATA_DIR"]).expanduser()
    at = (now or (lambda: datetime.now(UTC)))()
    report = Report(host=host.name(), system=host.system(), at=at.isoformat(timespec="seconds"))
    report.findings = [
        disk_encryption(host),
        data_dir_encryption(host, data_dir),
        security_updates(host),
        firewall(host),
        screen_lock(host),
        remote_assistance(host),
        time_sync(host),
        key_file(host, key_path, data_dir),
        serve_tls(host),
    ]
    return report


WORDS = {OK: "OK", TODO: "À FAIRE", UNKNOWN: "INCONNU"}


def as_text(report: Report) -> str:
    lines = [
        f"Diagnostic de sécurité de « {report.host} » ({report.system}), {report.at}",
        "",
    ]
    width = max(len(w) for w in WORDS.values())
    for finding in report.findings:
        lines.append(f"  [{WORDS[finding.status]:<{width}}] {finding.label} : {finding.detail}")
    counts = {s: sum(1 for f in report.findings if f.status == s) for s in WORDS}
    lines += [
        "",
        f"{counts[OK]} OK, {counts[TODO]} à faire, {counts[UNKNOWN]} inconnus "
        "(« inconnu » : ce poste ne permet pas de le vérifier ; vérifiez-le à la main).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    """`hygie diagnostic [--json]` without Django (workstations)."""
    unknown = [a for a in argv if a not in ("--json",)]
    if unknown:
        print(f"hygie diagnostic : option inconnue : {' '.join(unknown)}. Options : --json, --record "
            "(serveur).", file=sys.stderr)
        return 2
    report = run_all()
    if "--json" in argv:
        sys.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        sys.stdout.write(as_text(report))
    return 0
