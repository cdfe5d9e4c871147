"""Issue 18, item 11: a backup asked for from the page (« Sauvegarder maintenant ») or taken by
the worker from a queued request kept its Run row unlinked from the destination it went to, so
the status said « Dernière copie hors site : jamais ». The code now links it; this links the
rows written before, where the snapshot cache still tells where their archive went (a run's
`details.archive` is a snapshot name, unique per destination, and the cache's `location` is the
target's public id). Runs whose archive was pruned since stay as they are."""

import uuid

from django.db import migrations

DIRECTORY = "directory"


def link_runs(apps, schema_editor):
    Run = apps.get_model("backups", "Run")
    Snapshot = apps.get_model("backups", "Snapshot")
    Target = apps.get_model("backups", "Target")
    targets = {str(t.public_id): t for t in Target.objects.all()}
    unlinked = Run.objects.filter(kind="backup", status="success", target__isnull=True)
    for run in unlinked.iterator():
        archive = (run.details or {}).get("archive")
        if not archive:
            continue
        found = [s.location for s in Snapshot.objects.filter(name=archive)]
        owners = {targets[loc] for loc in found if _is_uuid(loc) and loc in targets}
        if len(owners) != 1:
            continue  # a one-off directory, pruned, or ambiguous: leave it
        [target] = owners
        run.target = target
        run.offsite = target.kind != DIRECTORY or not target.always_connected
        run.location = run.location or target.name[:300]
        run.save(update_fields=["target", "offsite", "location"])


def _is_uuid(value):
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


class Migration(migrations.Migration):

    dependencies = [
        ("backups", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(link_runs, migrations.RunPython.noop),
    ]
