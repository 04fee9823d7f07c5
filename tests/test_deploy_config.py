"""The hosted-deployment settings agree with each other and with the code.

.streamlit/config.toml, .streamlit/secrets.example.toml, deploy/nginx/retention-lab.conf and
deploy/retention-lab.service (README, "Deployment").
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import streamlit

from retention.access import policy_from_secrets
from retention.ingest import options

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".streamlit" / "config.toml"
SECRETS_EXAMPLE = ROOT / ".streamlit" / "secrets.example.toml"
NGINX = ROOT / "deploy" / "nginx" / "retention-lab.conf"
UNIT = ROOT / "deploy" / "retention-lab.service"


def _config() -> dict:
    return tomllib.loads(CONFIG.read_text(encoding="utf-8"))


def _nginx() -> str:
    """The conf without comments."""
    lines = NGINX.read_text(encoding="utf-8").splitlines()
    return "\n".join(line.split("#", 1)[0] for line in lines)


def _upload_limit_mb() -> int:
    return int(_config()["server"]["maxUploadSize"])


def test_config_has_the_hosted_values() -> None:
    config = _config()
    server, client = config["server"], config["client"]
    assert client["showErrorDetails"] == "none"  # a generic message; details in the log
    assert client["showErrorLinks"] is False
    assert client["toolbarMode"] == "viewer"
    assert client["disableDataExport"] is True
    assert server["enableXsrfProtection"] is True
    assert server["enableCORS"] is True
    assert server["headless"] is True
    assert server["runOnSave"] is False
    assert server["fileWatcherType"] == "none"
    assert config["browser"]["gatherUsageStats"] is False
    assert config["theme"]["base"] == "light"
    assert config["theme"]["primaryColor"] == "#4C78A8"
    assert "--client.showErrorDetails=full" in CONFIG.read_text(encoding="utf-8")


def test_upload_limit_matches_the_code() -> None:
    limit = getattr(options, "MAX_UPLOAD_BYTES", None)
    if limit is None:
        pytest.skip("retention.ingest.options has no MAX_UPLOAD_BYTES")
    assert _upload_limit_mb() == limit / 2**20


def test_config_values_are_ones_streamlit_accepts() -> None:
    from streamlit import config as st_config

    allowed = {v.value for v in st_config.ShowErrorDetailsConfigOptions}
    assert _config()["client"]["showErrorDetails"] in allowed
    known = st_config._config_options_template
    for section, values in _config().items():
        for key in values:
            assert f"{section}.{key}" in known, f"{section}.{key} is not a Streamlit option"


def test_secrets_example_is_complete_and_holds_no_secret() -> None:
    example = tomllib.loads(SECRETS_EXAMPLE.read_text(encoding="utf-8"))
    auth = example["auth"]
    policy = policy_from_secrets(auth)
    assert policy.mode == "login", policy.problem
    assert policy.editors and policy.viewers and policy.allowed_domains
    assert auth["redirect_uri"].startswith("https://")
    assert auth["redirect_uri"].endswith("/oauth2callback")
    for key in ("cookie_secret", "client_id", "client_secret"):
        assert auth[key].startswith("REPLACE"), key
    text = SECRETS_EXAMPLE.read_text(encoding="utf-8")
    assert "secrets.token_urlsafe(32)" in text
    for provider in ("[auth.google]", "[auth.microsoft]", "[auth.okta]"):
        assert f"# {provider}" in text  # commented examples


def test_secrets_toml_is_git_ignored() -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    result = subprocess.run(
        ["git", "check-ignore", "-q", ".streamlit/secrets.toml"], cwd=ROOT, check=False
    )
    assert result.returncode == 0, ".streamlit/secrets.toml must be in .gitignore"
    example = subprocess.run(
        ["git", "check-ignore", "-q", ".streamlit/secrets.example.toml"], cwd=ROOT, check=False
    )
    assert example.returncode == 1, "the example must not be ignored"


def test_nginx_passes_the_websocket_through() -> None:
    conf = _nginx()
    server = conf[conf.index("listen 443 ssl;") :]
    for header in (
        "proxy_set_header Upgrade $http_upgrade;",
        "proxy_set_header Connection $connection_upgrade;",
        # Streamlit compares the WebSocket's Origin with Host, port included.
        "proxy_set_header Host $http_host;",
    ):
        assert header in server, header
    assert re.search(r"map \$http_upgrade \$connection_upgrade", conf)
    assert "proxy_http_version 1.1;" in server
    stream = re.search(r"location = /_stcore/stream \{(.*?)\}", conf, re.S)
    assert stream, "no location for /_stcore/stream"
    timeout = re.search(r"proxy_read_timeout (\d+)s;", stream.group(1))
    assert timeout and int(timeout.group(1)) >= 3600
    # A proxy_set_header inside a location drops every server-level one there (Host too:
    # Streamlit then refuses the WebSocket of any browser not on localhost).
    for block in re.findall(r"location [^{]*\{(.*?)\}", conf, re.S):
        assert "proxy_set_header" not in block
    assert "server 127.0.0.1:8501;" in conf


def test_nginx_redirects_http_and_terminates_tls() -> None:
    conf = _nginx()
    assert re.search(r"listen 80;", conf)
    assert "return 301 https://$host$request_uri;" in conf
    assert re.search(r"listen 443 ssl;", conf)
    assert "ssl_certificate " in conf and "ssl_certificate_key " in conf


def test_nginx_upload_limit_matches_the_app() -> None:
    sizes = re.findall(r"client_max_body_size (\d+)m;", _nginx())
    assert sizes == [str(_upload_limit_mb())]


def test_nginx_sets_the_security_headers() -> None:
    conf = _nginx()
    headers = dict(re.findall(r'add_header ([\w-]+) "([^"]*)" always;', conf))
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert "camera=()" in headers["Permissions-Policy"]
    csp = headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "frame-ancestors 'none'", "object-src 'none'"):
        assert directive in csp
    assert "'unsafe-eval'" not in csp
    script_src = re.search(r"script-src ([^;]*)", csp)
    assert script_src and "'unsafe-inline'" not in script_src.group(1)
    # add_header inside a location would drop the server's headers there.
    for block in re.findall(r"location [^{]*\{(.*?)\}", conf, re.S):
        assert "add_header" not in block


def test_csp_allows_the_installed_streamlits_inline_scripts() -> None:
    """After a Streamlit upgrade: this names the hash to put in the nginx conf."""
    index = Path(streamlit.__file__).parent / "static" / "index.html"
    inline = re.findall(r"<script>(.*?)</script>", index.read_text(encoding="utf-8"), re.S)
    csp = dict(re.findall(r'add_header ([\w-]+) "([^"]*)" always;', _nginx()))[
        "Content-Security-Policy"
    ]
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp, (
            f"Streamlit {streamlit.__version__}'s index.html has an inline script not allowed "
            f"by the CSP: add 'sha256-{digest}' to script-src in {NGINX.relative_to(ROOT)}"
        )


def test_service_runs_unprivileged_on_loopback() -> None:
    unit = UNIT.read_text(encoding="utf-8")
    settings = [line.strip() for line in unit.splitlines() if not line.lstrip().startswith("#")]
    assert "User=retention" in settings
    assert "Restart=on-failure" in settings
    assert any(s.startswith("Environment=RETENTION_DB=/") for s in settings)
    exec_start = next(s for s in settings if s.startswith("ExecStart="))
    assert "streamlit run app.py" in exec_start
    assert "--server.address 127.0.0.1" in exec_start
    assert "--server.port 8501" in exec_start
