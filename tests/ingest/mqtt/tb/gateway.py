"""Run the `thingsboard-gateway` service from a configuration directory until SIGINT.

Runs inside the `.venv-tb` virtualenv. The configuration (tb_gateway.json, logs.json and the
connector files it names) is written by the test. The gateway's check for a newer release, an
HTTP call to the vendor's update service, is switched off: tests talk to this machine only.
Prints ``{"step": "starting", ...}`` on stdout before the service takes over.

    python gateway.py CONFIG_DIR
"""

from __future__ import annotations

import json
import os
import sys
from importlib.metadata import version


def main(config_dir: str) -> int:
    from thingsboard_gateway.tb_utility import tb_updater

    def no_update_check(self: tb_updater.TBUpdater) -> None:
        return None

    tb_updater.TBUpdater.check_for_new_version = no_update_check

    from thingsboard_gateway.gateway.tb_gateway_service import TBGatewayService

    os.chdir(config_dir)
    os.makedirs("logs", exist_ok=True)
    print(json.dumps({"step": "starting", "version": version("thingsboard-gateway")}), flush=True)
    # Blocks until the service stops; it handles SIGINT itself.
    TBGatewayService(os.path.join(config_dir, "tb_gateway.json"))
    return 0


if __name__ == "__main__":
    sys.exit(main(os.path.abspath(sys.argv[1])))
