"""JBD settings codec and table against real frames.

Ground truth: the phone app reading every settings register in factory mode from a JBD-SP04S034 4S 280 Ah LiFePO4
pack (syssi/esphome-jbd-bms docs/btsnoop_hci_jbd-sp04s034-l4s-200a-b-u.log, frames decoded from the btsnoop file:
ATT writes to / notifications from ff02/ff01, joined per frame). Units and byte order: the bms-tools JBD register
map (FurTrader/OverkillSolarBMS Comm_Protocol_Documentation/JBD_REGISTER_MAP.md) and dbus-serialbattery lltjbd.py
(discharge over-current stored negative). The 0x2D writes are from docs/pdus/btsnoop_hci-balancer-onoff.log.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.vectors import vector
from vendor_plugins.battery_settings import BmsSettings
from vendor_plugins.errors import FrameError
from vendor_plugins.jbd import codec, codec_settings
from vendor_plugins.jbd import table_settings as ts

#: (request, response) pairs of the real capture, in the order the app sent them.
REAL_READS: list[tuple[str, str]] = [
    ("dda52400ffdc77", "dd2400020e42ffae77"),
    ("dda52500ffdb77", "dd2500020ddeff1377"),
    ("dda53d00ffc377", "dd3d00020202fffa77"),
    ("dda52600ffda77", "dd26000209c4ff3177"),
    ("dda52700ffd977", "dd2700020a8cff6877"),
    ("dda52000ffe077", "dd20000205b4ff4577"),
    ("dda52100ffdf77", "dd210002058cff6d77"),
    ("dda53c00ffc477", "dd3c00020202fffa77"),
    ("dda52200ffde77", "dd22000203e8ff1377"),
    ("dda52300ffdd77", "dd2300020438ffc277"),
    ("dda51800ffe877", "dd1800020d99ff5877"),
    ("dda51900ffe777", "dd1900020cd1ff2177"),
    ("dda53a00ffc677", "dd3a00020202fffa77"),
    ("dda51a00ffe677", "dd1a00020a47ffad77"),
    ("dda51b00ffe577", "dd1b00020aabff4977"),
    ("dda51c00ffe477", "dd1c00020d99ff5877"),
    ("dda51d00ffe377", "dd1d00020cd1ff2177"),
    ("dda53b00ffc577", "dd3b00020202fffa77"),
    ("dda51e00ffe277", "dd1e00020a47ffad77"),
    ("dda51f00ffe177", "dd1f00020aabff4977"),
    ("dda52800ffd877", "dd28000259d8fecd77"),
    ("dda53e00ffc277", "dd3e00020a1effd677"),
    ("dda52900ffd777", "dd290002a628ff3077"),
    ("dda53f00ffc177", "dd3f00020a1effd677"),
    ("dda53600ffca77", "dd3600020f3cffb377"),
    ("dda53700ffc977", "dd37000207d0ff2777"),
    ("dda52a00ffd677", "dd2a00020c80ff7277"),
    ("dda52b00ffd577", "dd2b0002001effe077"),
    ("dda51000fff077", "dd1000026d60ff3177"),
    ("dda51100ffef77", "dd1100025780ff2777"),
    ("dda51200ffee77", "dd1200020dacff4577"),
    ("dda51300ffed77", "dd1300020af0ff0477"),
    ("dda53200ffce77", "dd3200020d48ffa977"),
    ("dda53300ffcd77", "dd3300020d16ffdb77"),
    ("dda53400ffcc77", "dd3400020ce4ff0e77"),
    ("dda53500ffcb77", "dd3500020c1cffd677"),
    ("dda51400ffec77", "dd1400020002fffc77"),
    ("dda52f00ffd177", "dd2f00020004fffa77"),
    # From the balancer capture: 0x2D read while balancing was enabled (load lock + balance enable).
    ("dda52d00ffd377", "dd2d00020006fff877"),
]

#: What those frames mean (decoded here with the units of the register map).
REAL_VALUES = {
    "cell_overvoltage_protect": 3.65,
    "cell_overvoltage_release": 3.55,
    "cell_undervoltage_protect": 2.5,
    "cell_undervoltage_release": 2.7,
    "cell_undervoltage_delay": 2.0,
    "cell_overvoltage_delay": 2.0,
    "pack_overvoltage_protect": 14.6,
    "pack_overvoltage_release": 14.2,
    "pack_undervoltage_protect": 10.0,
    "pack_undervoltage_release": 10.8,
    "pack_undervoltage_delay": 2.0,
    "pack_overvoltage_delay": 2.0,
    "charge_overtemp_protect": 75.0,
    "charge_overtemp_release": 55.0,
    "charge_undertemp_protect": -10.0,
    "charge_undertemp_release": 0.0,
    "charge_undertemp_delay": 2.0,
    "charge_overtemp_delay": 2.0,
    "discharge_overtemp_protect": 75.0,
    "discharge_overtemp_release": 55.0,
    "discharge_undertemp_protect": -10.0,
    "discharge_undertemp_release": 0.0,
    "discharge_undertemp_delay": 2.0,
    "discharge_overtemp_delay": 2.0,
    "charge_overcurrent_protect": 230.0,
    "charge_overcurrent_delay": 10.0,
    "charge_overcurrent_release_delay": 30.0,
    "discharge_overcurrent_protect": 230.0,
    "discharge_overcurrent_delay": 10.0,
    "discharge_overcurrent_release_delay": 30.0,
    "cell_overvoltage_hard_protect": 3.9,
    "cell_undervoltage_hard_protect": 2.0,
    "balance_start_voltage": 3.2,
    "balance_delta_voltage": 0.03,
    "design_capacity": 280.0,
    "cycle_capacity": 224.0,
    "cell_full_voltage": 3.5,
    "cell_empty_voltage": 2.8,
    "cell_voltage_soc_80": 3.4,
    "cell_voltage_soc_60": 3.35,
    "cell_voltage_soc_40": 3.3,
    "cell_voltage_soc_20": 3.1,
    "self_discharge_rate": 0.2,
    "cell_count": 4,
    "balancer_enabled": True,
    "balance_only_when_charging": False,
}


def real_words() -> dict[int, int]:
    words = {}
    for request, response in REAL_READS:
        req = codec.parse_frame(bytes.fromhex(request), request=True)
        assert codec_settings.build_read(req.command) == bytes.fromhex(request)
        frame = codec.parse_frame(bytes.fromhex(response))
        words[frame.command] = codec_settings.decode_word(codec.check_response(frame, req.command), frame.command)
    return words


def test_real_capture_decodes_to_the_pack_settings() -> None:
    assert codec_settings.decode_settings(real_words()) == REAL_VALUES


def test_every_table_register_is_in_the_real_capture() -> None:
    assert set(ts.REGISTERS) == set(real_words())
    assert set(REAL_VALUES) == set(ts.TABLE.names)


def test_real_capture_satisfies_every_rule() -> None:
    current = BmsSettings("jbd", "jbd", 4, REAL_VALUES)
    for rule in ts.TABLE.rules:
        assert rule.holds(current.values), rule


def test_shared_vector_design_capacity_and_balancer_writes() -> None:
    design = vector("jbd", "btsnoop_reg_0x10_design_cap")
    frame = codec.parse_frame(bytes.fromhex(design["response_hex"]))
    word = codec_settings.decode_word(codec.check_response(frame, 0x10), 0x10)
    assert codec_settings.decode_value(ts.BY_NAME["design_capacity"], word) == 280.0
    off = vector("jbd", "btsnoop_reg_write_0x2d")
    on = vector("jbd", "btsnoop_reg_write_0x2d_b")
    words = {ts.REG_FUNCTION: 0x0006}
    assert codec_settings.build_write(
        ts.REG_FUNCTION, codec_settings.encode_changes({"balancer_enabled": False}, ["balancer_enabled"], words)[0x2D]
    ) == bytes.fromhex(off["request_hex"])
    words = {ts.REG_FUNCTION: 0x0002}
    assert codec_settings.build_write(
        ts.REG_FUNCTION, codec_settings.encode_changes({"balancer_enabled": True}, ["balancer_enabled"], words)[0x2D]
    ) == bytes.fromhex(on["request_hex"])


def test_factory_keys_match_the_capture() -> None:
    assert codec.build_write(0x00, b"\x56\x78") == bytes.fromhex(vector("jbd", "btsnoop_enter_factory")["request_hex"])
    assert codec.build_write(0x01, ts.FACTORY_EXIT_SAVE) == bytes.fromhex("dd5a01022828ffad77")


def test_shared_register_keeps_the_other_half() -> None:
    words = {0x3D: 0x0202}
    out = codec_settings.encode_changes({"cell_overvoltage_delay": 5.0}, ["cell_overvoltage_delay"], words)
    assert out == {0x3D: 0x0205}
    out = codec_settings.encode_changes(
        {"cell_overvoltage_delay": 5.0, "cell_undervoltage_delay": 7.0},
        ["cell_overvoltage_delay", "cell_undervoltage_delay"],
        words,
    )
    assert out == {0x3D: 0x0705}


def test_short_register_answer_is_refused() -> None:
    with pytest.raises(FrameError):
        codec_settings.decode_word(b"\x01", 0x24)


@given(data=st.data())
def test_every_setting_round_trips_through_its_word(data: st.DataObject) -> None:
    spec = data.draw(st.sampled_from(ts.SPECS))
    word = data.draw(st.integers(0, 0xFFFF))
    steps = data.draw(st.integers(round(spec.minimum / spec.step), round(spec.maximum / spec.step)))
    value = data.draw(st.booleans()) if spec.word.kind == "bool" else spec.coerce(steps * spec.step)
    encoded = codec_settings.encode_value(spec, value, word)
    assert spec.same(codec_settings.decode_value(spec, encoded), value)
    if spec.encoding in {"hi", "lo", "bit"}:
        other = ~{"hi": 0xFF00, "lo": 0x00FF, "bit": 1 << spec.bit}[spec.encoding] & 0xFFFF
        assert encoded & other == word & other
