from django.db import migrations

# The group whose members may download round exports (gameserver/stats/views.py RESEARCHERS_GROUP): made here so
# that an admin finds it in the admin, instead of having to type its exact name.
RESEARCHERS_GROUP = "researchers"


def researchers_group_create(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.get_or_create(name=RESEARCHERS_GROUP)


class Migration(migrations.Migration):

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunPython(researchers_group_create, migrations.RunPython.noop),
    ]
