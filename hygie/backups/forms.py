"""The destination forms, one per kind. Secrets are never shown back: their fields are empty on
every page, and left empty when changing a destination they keep the stored value."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from hygie.backups import targets
from hygie.backups.models import Target, TargetKind


class _TargetForm(forms.Form):
    kind: str = ""
    # Form fields that go into the encrypted secret, never into `config`.
    secret_fields: tuple[str, ...] = ()

    name = forms.CharField(
        label=_("Nom"),
        max_length=80,
        help_text=_("Pour vous y retrouver, par exemple « Disque USB du lundi » ou « NAS du cabinet »."),
    )
    enabled = forms.BooleanField(
        label=_("Active (les sauvegardes y sont envoyées)"), required=False, initial=True
    )

    def __init__(self, *args: Any, instance: Target | None = None, **kwargs: Any) -> None:
        self.instance = instance
        if instance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                **{k: v for k, v in (instance.config or {}).items() if k in targets.CONFIG_KEYS[self.kind]},
                "name": instance.name,
                "enabled": instance.enabled,
                "always_connected": "yes" if instance.always_connected else "no",
            }
        super().__init__(*args, **kwargs)
        if instance is not None:
            for name in self.secret_fields:
                field = self.fields[name]
                field.required = False
                field.help_text = _("Laisser vide pour garder la valeur enregistrée.")

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        others = Target.objects.filter(name__iexact=name)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError(_("Une destination porte déjà ce nom."))
        return name

    def config(self) -> dict[str, Any]:
        data = self.cleaned_data
        return targets.normalise(self.kind, {k: data.get(k) for k in targets.CONFIG_KEYS[self.kind] if k in data})

    def secret(self) -> dict[str, str]:
        return {k: self.cleaned_data[k] for k in self.secret_fields if self.cleaned_data.get(k)}

    def is_always_connected(self) -> bool:
        return True

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for field, message in targets.config_errors(self.kind, self.config()).items():
            if field not in self.errors:
                self.add_error(field if field in self.fields else None, message)
        return data


class DirectoryForm(_TargetForm):
    kind = TargetKind.DIRECTORY
    field_order = ["name", "path", "always_connected", "enabled"]

    path = forms.CharField(
        label=_("Dossier"),
        max_length=250,
        help_text=_("Chemin absolu du dossier sur ce serveur, par exemple /media/sauvegarde (il doit exister)."),
    )
    always_connected = forms.ChoiceField(
        label=_("Ce support"),
        choices=[
            ("yes", _("reste branché (disque interne, partage réseau toujours monté)")),
            ("no", _("est débranché après chaque sauvegarde (disque amovible rangé ailleurs)")),
        ],
        initial="yes",
        widget=forms.RadioSelect,
        help_text=_(
            "Un support qui reste branché est à la portée d'un rançongiciel : il ne compte pas comme "
            "copie hors site."
        ),
    )

    def is_always_connected(self) -> bool:
        return self.cleaned_data.get("always_connected") != "no"


class SftpForm(_TargetForm):
    kind = TargetKind.SFTP
    secret_fields = ("password",)
    field_order = ["name", "host", "port", "host_key", "confirm_host_key", "username", "path", "password", "enabled"]

    host = forms.CharField(label=_("Serveur"), max_length=253, help_text=_("Nom ou adresse IP du serveur SFTP."))
    port = forms.IntegerField(
        label=_("Port"), initial=targets.DEFAULT_SFTP_PORT, min_value=1, max_value=65535,
        error_messages={
            "invalid": _("Le port doit être un nombre entre 1 et 65535."),
            "min_value": _("Le port doit être un nombre entre 1 et 65535."),
            "max_value": _("Le port doit être un nombre entre 1 et 65535."),
        },
    )
    username = forms.CharField(label=_("Utilisateur"), max_length=100)
    path = forms.CharField(
        label=_("Dossier sur le serveur"), max_length=250, required=False,
        help_text=_("Relatif au dossier de l'utilisateur, ou absolu (il doit exister)."),
    )
    host_key = forms.CharField(
        label=_("Clé du serveur"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text=_(
            "Cliquez sur « Récupérer la clé du serveur », puis comparez l'empreinte affichée avec celle "
            "que donne l'hébergeur ou la commande ssh-keygen -lf sur le serveur."
        ),
    )
    confirm_host_key = forms.BooleanField(
        label=_("J'ai vérifié que cette empreinte est bien celle du serveur"), required=False
    )
    password = forms.CharField(
        label=_("Mot de passe (facultatif)"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_(
            "Inutile si la clé publique du cabinet (affichée après l'enregistrement) est ajoutée au "
            "fichier authorized_keys du serveur."
        ),
    )

    def clean_host_key(self) -> str:
        line = " ".join(self.cleaned_data.get("host_key", "").split())
        if line:
            try:
                targets.fingerprint(line)
            except Exception:
                raise forms.ValidationError(
                    _("Clé du serveur illisible : récupérez-la à nouveau avec le bouton ci-dessous.")
                ) from None
        return line

    def host_key_changed(self) -> bool:
        before = (self.instance.config or {}).get("host_key", "") if self.instance is not None else ""
        return self.cleaned_data.get("host_key", "") != before

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("host_key") and self.host_key_changed() and not data.get("confirm_host_key"):
            self.add_error("confirm_host_key", _("Confirmez que vous avez vérifié l'empreinte de la clé du serveur."))
        return data


class S3Form(_TargetForm):
    kind = TargetKind.S3
    secret_fields = ("secret_key",)
    field_order = [
        "name", "endpoint_url", "region", "bucket", "prefix", "access_key", "secret_key", "lock_days", "lock_mode",
        "enabled",
    ]

    endpoint_url = forms.CharField(
        label=_("Adresse du service"), max_length=250,
        help_text=_("Par exemple https://s3.fr-par.scw.cloud ou https://s3.gra.io.cloud.ovh.net."),
    )
    region = forms.CharField(label=_("Région"), max_length=60, required=False)
    bucket = forms.CharField(label=_("Compartiment (bucket)"), max_length=63)
    prefix = forms.CharField(
        label=_("Préfixe"), max_length=200, required=False,
        help_text=_("Facultatif : un sous-dossier du compartiment, par exemple hygie."),
    )
    access_key = forms.CharField(label=_("Clé d'accès"), max_length=200)
    secret_key = forms.CharField(
        label=_("Clé secrète"),
        strip=False,
        max_length=500,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    lock_days = forms.IntegerField(
        label=_("Verrouillage des copies (jours)"),
        initial=0,
        min_value=0,
        max_value=3650,
        error_messages={
            "invalid": _("La durée de verrouillage doit être entre 0 et 3650 jours."),
            "min_value": _("La durée de verrouillage doit être entre 0 et 3650 jours."),
            "max_value": _("La durée de verrouillage doit être entre 0 et 3650 jours."),
        },
        help_text=_(
            "Si le compartiment a le verrouillage d'objets (Object Lock) : pendant ce délai, personne, "
            "pas même un pirate qui aurait les clés de ce serveur, ne peut effacer une copie. "
            "0 : pas de verrouillage. 30 jours ou plus recommandés."
        ),
    )
    lock_mode = forms.ChoiceField(
        label=_("Mode de verrouillage"),
        choices=[
            ("COMPLIANCE", _("COMPLIANCE : personne ne peut lever le verrouillage")),
            ("GOVERNANCE", _("GOVERNANCE : un compte disposant d'un droit spécial peut le lever")),
        ],
        initial="COMPLIANCE",
    )


FORMS: dict[str, type[_TargetForm]] = {
    TargetKind.DIRECTORY: DirectoryForm,
    TargetKind.SFTP: SftpForm,
    TargetKind.S3: S3Form,
}


class HostForm(forms.Form):
    """The first step of an SFTP destination: which server to fetch the host key from."""

    host = SftpForm.base_fields["host"]
    port = SftpForm.base_fields["port"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        errors = targets.config_errors(TargetKind.SFTP, targets.normalise(TargetKind.SFTP, data))
        if "host" in errors and "host" not in self.errors:
            self.add_error("host", errors["host"])
        return data
