"""`hygie serve`: the production server (waitress, pure Python: Linux, macOS and Windows).

On Linux, one waitress process per core by default (hygie.core.prefork), forked after the
migrations, the startup checks and the unlock; the background jobs in a process of their own."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError

from hygie.audit import sealer
from hygie.core import prefork, startup
from hygie.core.management.base import HygieCommand
from hygie.lib import proxies
from hygie.lib.env import envsecret


class Command(HygieCommand):
    help = "Démarre le serveur Hygie (waitress)."
    # The checks below replace Django's: they speak French and say what to do.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Adresse d'écoute (défaut : 127.0.0.1).")
        parser.add_argument("--port", type=int, default=8000, help="Port d'écoute (défaut : 8000).")
        parser.add_argument(
            "--processes",
            type=int,
            default=None,
            help="Processus de service (défaut : un par cœur sous Linux, un seul ailleurs).",
        )
        parser.add_argument(
            "--threads", type=int, default=8, help="Fils de traitement par processus (défaut : 8)."
        )
        parser.add_argument(
            "--allow-insecure-lan",
            action="store_true",
            help="Accepter une adresse du réseau sans HTTPS (essai sur un réseau de confiance seulement).",
        )
        parser.add_argument(
            "--unlock",
            action="store_true",
            help="Mode phrase de passe : demande la phrase de passe du fichier de clés avant de servir "
            "(sans cette option, le serveur démarre verrouillé et affiche sa page de déverrouillage).",
        )
        parser.add_argument(
            "--passphrase-stdin",
            action="store_true",
            help="Avec --unlock : lit la phrase de passe sur l'entrée standard (une par ligne) au lieu du terminal.",
        )
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Ne pas exécuter les tâches de fond dans ce processus (un « hygie worker » à part s'en charge).",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        host, port, threads = opts["host"], opts["port"], opts["threads"]
        if not 0 < port < 65536:
            raise CommandError("Le port doit être compris entre 1 et 65535.")
        if not 1 <= threads <= 64:
            raise CommandError("Le nombre de fils doit être compris entre 1 et 64.")
        processes = prefork.default_processes() if opts["processes"] is None else opts["processes"]
        if not 1 <= processes <= 64:
            raise CommandError("Le nombre de processus doit être compris entre 1 et 64.")
        if processes > 1 and not prefork.can_fork():
            raise CommandError("Plusieurs processus ne sont possibles que sous Linux ou macOS : --processes 1.")
        try:
            startup.check_keys(
                env=settings.HYGIE_ENV,
                keys_missing=settings.HYGIE_KEYS_MISSING,
                keys_error=settings.HYGIE_KEYS_ERROR,
                secret_from_env=bool(envsecret("HYGIE_SECRET_KEY")),
            )
            startup.check_bind(host, https=settings.HTTPS, allow_insecure_lan=opts["allow_insecure_lan"])
        except startup.StartupError as exc:
            raise CommandError(str(exc), returncode=2) from None
        if settings.HYGIE_KEYS_MISSING:
            self.stderr.write(
                "Attention : pas de fichier de clés, les sessions seront perdues au prochain démarrage "
                "(lancez « hygie init »)."
            )
        if not startup.is_loopback(host) and not settings.HTTPS:
            self.stderr.write(f"Attention : {host} sans HTTPS, les échanges circulent en clair.")
        for warning in startup.proxy_warnings(
            https=settings.HTTPS, behind_proxy=settings.BEHIND_PROXY, ssl_redirect=settings.SECURE_SSL_REDIRECT
        ):
            self.stderr.write(f"Attention : {warning}")

        startup.prepare_database()
        # The key file must open this database's data (same practice, master key not lost).
        from hygie.keys.startup import KeysMismatch, check_keys_open_the_data

        try:
            check_keys_open_the_data()
        except KeysMismatch as exc:
            raise CommandError(str(exc), returncode=2) from None
        if not self._unlock(host, port, opts) and processes > 1:
            # The unlock page unlocks the process that receives it: a locked server keeps one.
            self.stderr.write(
                "Démarré verrouillé : un seul processus de service jusqu'au redémarrage "
                "(« hygie serve --unlock » déverrouille avant de lancer un processus par cœur)."
            )
            processes = 1

        from hygie.wsgi import application

        self.stdout.write(f"Hygie est disponible sur {startup.shown_url(host, port)}", ending="\n")
        if settings.HTTPS:
            self.stdout.write(f"Adresse du cabinet (proxy HTTPS) : {settings.BASE_URL}/")
        if settings.BEHIND_PROXY:
            self.stdout.write(f"Proxy de confiance : {proxies.describe(settings.TRUSTED_PROXIES)}")
        self.stdout.write("Ctrl+C pour arrêter.")
        self.stdout.flush()
        keep_request_bodies_in_memory()
        app, proxy_options = wsgi_app_and_proxy_options(application)
        options = {
            "threads": threads,
            "ident": "Hygie",
            # Nothing larger than an accepted document (plus the form around it) is read.
            "max_request_body_size": (settings.UPLOAD_MAX_MB + 1) * 1024 * 1024,
            **proxy_options,
        }
        if processes == 1:
            self._serve_in_this_process(app, host, port, options, with_worker=not opts["no_worker"])
        else:
            self._serve_in_processes(app, host, port, options, processes, with_worker=not opts["no_worker"])

    def _serve_in_this_process(
        self, app: proxies.WSGIApp, host: str, port: int, options: dict[str, Any], *, with_worker: bool
    ) -> None:
        from waitress import serve

        worker = None
        if with_worker:
            # Journal checkpoints, alerts, retention: in a thread of the server by default. Several
            # servers may each run one: every job still runs once (hygie.worker.runner).
            from hygie.worker.runner import Worker

            worker = Worker()
            thread = worker.start_thread()
        sealer.enable()
        sealer.seal_on_sigterm()
        try:
            # waitress logs no access line: no URL, hence no patient id, reaches a log file.
            serve(app, host=host, port=port, **options)
        finally:
            if worker is not None:
                worker.stop()
                thread.join(timeout=30)

    def _serve_in_processes(
        self,
        app: proxies.WSGIApp,
        host: str,
        port: int,
        options: dict[str, Any],
        processes: int,
        *,
        with_worker: bool,
    ) -> None:
        """Keys unlocked, migrations done: fork the servers, and the jobs in a process of their own."""
        from django.db import connections
        from waitress import serve
        from waitress.adjustments import Adjustments

        try:
            sockets = prefork.bind(Adjustments(host=host, port=port).listen)
        except OSError as exc:
            reason = exc.strerror or exc
            raise CommandError(f"Impossible d'écouter sur {host}:{port} : {reason}.", returncode=2) from None

        def serve_here() -> None:
            sealer.enable()
            sealer.seal_on_sigterm()
            # waitress logs no access line: no URL, hence no patient id, reaches a log file.
            serve(app, sockets=sockets, **options)

        def run_jobs() -> None:
            import signal

            from hygie.worker.runner import Worker, stop_on

            worker = Worker()
            stop_on(worker, signal.SIGTERM)
            worker.run_forever()

        supervisor = prefork.Supervisor(
            processes=processes,
            serve=serve_here,
            jobs=run_jobs if with_worker else None,
            before_fork=connections.close_all,  # no connection shared by two processes
            stderr=self.stderr,
        )
        self.stdout.write(f"{processes} processus de service, {options['threads']} fils chacun.")
        self.stdout.flush()
        try:
            code = supervisor.run()
        finally:
            for sock in sockets:
                sock.close()
        if code:
            raise CommandError("Le serveur n'a pas pu démarrer ses processus.", returncode=code)

    def _unlock(self, host: str, port: int, opts: dict[str, Any]) -> bool:
        """Passphrase mode: unlock now (--unlock), or start locked behind the unlock page.

        True when the keys are usable (no passphrase, or unlocked), False when left locked."""
        from hygie.core.actions import CLI_ROLE
        from hygie.keys import prompt, service

        wants = opts["unlock"] or opts["passphrase_stdin"]
        if not service.is_locked():
            if wants:
                self.stderr.write(
                    "Le fichier de clés n'est pas protégé par une phrase de passe : --unlock est sans effet."
                )
            return True
        if wants:
            prompt.unlock_or_fail(prompt.current_passphrases(opts), stderr=self.stderr, role=CLI_ROLE)
            self.stdout.write("Clés déverrouillées.")
            return True
        shown = f"[{host}]" if ":" in host else host
        self.stderr.write(
            "Hygie démarre verrouillé (fichier de clés protégé par une phrase de passe) : aucune donnée patient "
            f"n'est accessible avant le déverrouillage, sur http://{shown}:{port}/cles/deverrouiller/ "
            "ou en relançant avec « hygie serve --unlock »."
        )
        return False


def wsgi_app_and_proxy_options(application: proxies.WSGIApp) -> tuple[proxies.WSGIApp, dict[str, Any]]:
    """What waitress serves, and its proxy options.

    Without a proxy, waitress drops every forwarding header (X-Forwarded-*, Forwarded): nobody
    may claim another address or HTTPS. Behind one, hygie.lib.proxies believes the trusted
    proxy only (HYGIE_TRUSTED_PROXY) and takes waitress's place for that."""
    if not settings.BEHIND_PROXY:
        return application, {"clear_untrusted_proxy_headers": True}
    return proxies.trusting(application, settings.TRUSTED_PROXIES), {"clear_untrusted_proxy_headers": False}


def keep_request_bodies_in_memory() -> None:
    """waitress spools a request body over 512 KiB to an anonymous temporary file before Django
    sees it: an uploaded document would touch the disk in clear there. Where the system has a
    RAM file system (Linux /dev/shm), temporary files go there instead. Elsewhere the file is
    still anonymous and deleted at once; docs/encryption.md says so."""
    shm = Path("/dev/shm")  # noqa: S108 - a RAM file system, on purpose
    if shm.is_dir() and os.access(shm, os.W_OK):
        tempfile.tempdir = str(shm)
