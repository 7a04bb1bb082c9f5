from django.db import migrations, models


def families_of_existing_versions(apps, schema_editor):
    """Every version registered before versions were numbered is version 1 of the family of its name."""
    ModelVersion = apps.get_model("inference", "ModelVersion")
    for version in ModelVersion.objects.all():
        version.family = version.name
        version.save(update_fields=["family"])


class Migration(migrations.Migration):

    dependencies = [
        ("inference", "0002_opponents"),
    ]

    operations = [
        migrations.AlterField(
            model_name="modelversion",
            name="name",
            field=models.CharField(max_length=110, unique=True),
        ),
        migrations.AddField(
            model_name="modelversion",
            name="family",
            field=models.SlugField(default="", max_length=100),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="modelversion",
            name="number",
            field=models.PositiveIntegerField(default=1),
        ),
        migrations.AddField(
            model_name="modelversion",
            name="train_manifest_sha256",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="modelversion",
            name="training_places_stored",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(families_of_existing_versions, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="modelversion",
            constraint=models.UniqueConstraint(fields=("family", "number"), name="one_number_per_model_version"),
        ),
    ]
