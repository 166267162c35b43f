# hardkit.hardening filters: hardkit's JSON Lines as Ansible data.
# Copyright: hardkit developers; MIT OR Apache-2.0.

import json

DOCUMENTATION_RECORDS = """
name: hardkit_records
short_description: the JSON Lines a hardkit tool wrote, as a list of records tagged with the host
description:
  - Each line of a tool's --json output is one record (docs/protocol.md). Every record
    gets a C(host) field naming the inventory host it came from, so that a fleet's records
    can be read together. A line that is not a JSON object becomes an C(error) record of
    tool C(fleet) that quotes the start of it (a host's output is not trusted).
"""


def hardkit_records(stdout, host):
    out = []
    for number, line in enumerate((stdout or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict) or not isinstance(record.get("type"), str):
            out.append({
                "type": "error",
                "tool": "fleet",
                "host": host,
                "message": "line %d of the output is not a hardkit record: %s" % (number, line[:200]),
            })
            continue
        record["host"] = host
        out.append(record)
    return out


class FilterModule(object):
    def filters(self):
        return {"hardkit_records": hardkit_records}
