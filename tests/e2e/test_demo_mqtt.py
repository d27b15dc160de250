"""``scripts/demo.sh --mqtt``: the gateway config the demo writes is one ``bmsgw serve --check`` accepts.

Fast, no broker and no Home Assistant (the full path, simulators -> ``bmsgw serve`` -> Mosquitto -> Home Assistant's
MQTT integration, is what the demo itself runs; the gateway's own tests cover it with a real broker).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import demo_mqtt

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_gateway_config_passes_the_check(tmp_path: Path) -> None:
    conns = demo_mqtt.connections()
    where = {c.name: f"127.0.0.1:{40001 + i}" for i, c in enumerate(conns)}
    config = tmp_path / "gateway.yaml"
    config.write_text(demo_mqtt.gateway_yaml(18830, where, tmp_path / "state.json"), encoding="utf-8")
    run = subprocess.run(
        [str(ROOT / ".venv/bin/bmsgw"), "serve", "--config", str(config), "--check", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    understood = json.loads(run.stdout)
    text = json.dumps(understood)
    assert "18830" in text and demo_mqtt.GATEWAY_ID in text
    for conn in conns:
        assert conn.name in text and where[conn.name].split(":")[1] in text
    # a bus of several packs, and a single pack whose MOSFET switches Home Assistant may use
    assert [c.address for c in conns] == ["all", None]
    assert [c.control for c in conns] == [False, True]
