"""The MQTT gateway behind ``bmsgw serve``: packs to an MQTT broker with Home Assistant discovery (docs/gateway.md).

Needs the ``gateway`` extra (``aiomqtt``, ``PyYAML``). One module per job: :mod:`.config` (the YAML file, errors with
file, line and key; :mod:`.yaml_lines` keeps the lines; :mod:`.config_types` what it says), :mod:`.topics`,
:mod:`.discovery` (payloads from the library's entity catalog), :mod:`.publisher` (the broker connection: change-only,
bounded, reconnecting), :mod:`.packs` (one connection: link, reader, states, events, energy, commands),
:mod:`.state` (the state file), :mod:`.service` (the daemon: start, run, clean shutdown).
"""
