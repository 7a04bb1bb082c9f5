from django.db import migrations, models


class Migration(migrations.Migration):
    """A set's life cycle: sets that existed before it are published (they were in the lobby); new ones start as
    drafts."""

    dependencies = [
        ("panoramas", "0003_verified_tier"),
    ]

    operations = [
        migrations.AddField(
            model_name="panoramaset",
            name="status",
            field=models.CharField(choices=[("draft", "Draft (staff only)"), ("published", "Published"),
                                            ("retired", "Retired (kept for history)")],
                                   default="published", max_length=10),
        ),
        migrations.AlterField(
            model_name="panoramaset",
            name="status",
            field=models.CharField(choices=[("draft", "Draft (staff only)"), ("published", "Published"),
                                            ("retired", "Retired (kept for history)")],
                                   default="draft", max_length=10),
        ),
    ]
