"""Runs stac-api-validator without the internet (scripts/test-validator.sh).

    python scripts/stac_api_validator_offline.py --root-url ... [VALIDATOR ARGS...]

stac-api-validator validates every Collection and Item it sees with
stac-validator, which fetches the STAC JSON schemas from schemas.stacspec.org
(and, through them, the GeoJSON schemas from geojson.org). The stac-validator
wheels do not ship these schemas, but pystac ships the STAC 1.1.0 core and
GeoJSON schemas (pystac.validation.local_validator). This wrapper:

- serves every schema URL that pystac has a local copy of from that copy, by
  replacing stac_validator.utilities.fetch_and_parse_schema (which
  stac-validator uses both for the top-level schema and, through
  cached_retrieve, for every $ref);
- fails loudly for any other schema URL (a SchemaNotBundled error naming it),
  so a run can never silently validate against less than it should;
- refuses every network connection that is not to the loopback interface
  (our server runs on 127.0.0.1), printing each refused host once to stderr
  and a summary at exit, so nothing waits on a network this machine does not
  have;

then calls the validator's own command-line entry point with the arguments.
"""

from __future__ import annotations

import atexit
import copy
import ipaddress
import socket
import sys
from typing import Any

from pystac.validation.local_validator import get_local_schema_cache

LOCAL_SCHEMAS: dict[str, dict[str, Any]] = get_local_schema_cache()
SERVED: set[str] = set()
REFUSED: dict[str, int] = {}


class SchemaNotBundled(RuntimeError):
    """A schema URL that no local copy exists for (and no network to get it)."""


class NetworkRefused(OSError):
    """A connection to something other than the loopback interface."""


def _normalise(url: str) -> str:
    url = url.split("#", 1)[0]
    if url.startswith("http://"):
        url = "https://" + url[len("http://"):]
    return url


def fetch_and_parse_schema(input_path: str) -> dict[str, Any]:
    key = _normalise(str(input_path))
    if key in LOCAL_SCHEMAS:
        SERVED.add(key)
        # stac-validator mutates some schemas (0.7.0 path): never share ours.
        return copy.deepcopy(LOCAL_SCHEMAS[key])
    raise SchemaNotBundled(
        f"schema {input_path!r} is not bundled with pystac and there is no "
        "network: stac_api_validator_offline.py cannot serve it"
    )


def _is_loopback(host: Any) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _refuse(host: Any) -> None:
    host = str(host)
    if host not in REFUSED:
        print(f"stac_api_validator_offline: refused a network connection to "
              f"{host} (no network; only 127.0.0.1 is reachable)", file=sys.stderr)
    REFUSED[host] = REFUSED.get(host, 0) + 1
    raise NetworkRefused(f"network access to {host} refused (offline run)")


_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
    if host is not None and not _is_loopback(host):
        _refuse(host)
    return _real_getaddrinfo(host, *args, **kwargs)


def _address_host(address: Any) -> Any:
    return address[0] if isinstance(address, tuple) else None


def _connect(self, address):  # type: ignore[no-untyped-def]
    host = _address_host(address)
    if host is not None and not _is_loopback(host):
        _refuse(host)
    return _real_connect(self, address)


def _connect_ex(self, address):  # type: ignore[no-untyped-def]
    host = _address_host(address)
    if host is not None and not _is_loopback(host):
        _refuse(host)
    return _real_connect_ex(self, address)


def _summary() -> None:
    print(f"stac_api_validator_offline: served {len(SERVED)} schemas from "
          f"pystac's bundled copies", file=sys.stderr)
    if REFUSED:
        hosts = ", ".join(f"{h} ({n}x)" for h, n in sorted(REFUSED.items()))
        print(f"stac_api_validator_offline: refused network connections to: "
              f"{hosts}", file=sys.stderr)


def install() -> None:
    socket.getaddrinfo = _getaddrinfo  # type: ignore[assignment]
    socket.socket.connect = _connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]

    import stac_validator.utilities as utilities
    import stac_validator.validate as validate

    # utilities.cached_retrieve / fetch_schema_with_override look the name up
    # in their module; validate.py imported it by name. If a new
    # stac-validator renames them, stop here rather than go to the network.
    for module in (utilities, validate):
        if not hasattr(module, "fetch_and_parse_schema"):
            raise SystemExit(f"stac_api_validator_offline: {module.__name__} has no "
                             "fetch_and_parse_schema: update the wrapper for this "
                             "stac-validator version")
        module.fetch_and_parse_schema = fetch_and_parse_schema  # type: ignore[attr-defined]
    # stac-validator's --fast mode (not used by stac-api-validator) has its
    # own fetcher; the module exists only in some releases.
    try:
        import stac_validator.fast_validator as fast_validator
    except ImportError:
        pass
    else:
        fast_validator.fetch_schema = fetch_and_parse_schema  # type: ignore[attr-defined]
    atexit.register(_summary)


def main() -> None:
    install()
    from stac_api_validator.__main__ import main as validator_main

    validator_main(args=sys.argv[1:], prog_name="stac-api-validator")


if __name__ == "__main__":
    main()
