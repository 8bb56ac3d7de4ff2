from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command


@pytest.mark.django_db
def test_demo_admin_prints_working_credentials_and_resets_them() -> None:
    out = StringIO()
    call_command("demo_admin", stdout=out)
    password = out.getvalue().split("password: ")[1].strip()
    user = authenticate(username="demo-admin", password=password)
    assert user is not None and user.is_superuser
    again = StringIO()
    call_command("demo_admin", "--password", "chosen-Pass-987", stdout=again)
    assert again.getvalue().startswith("Reset demo admin")
    assert authenticate(username="demo-admin", password="chosen-Pass-987") is not None
