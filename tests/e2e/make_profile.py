"""Create an Anki base folder with one profile and no first-run dialogs.

Run with the Python of the Anki under test: `python make_profile.py BASE`.
"""

from __future__ import annotations

import sys

from aqt.profiles import ProfileManager


def main(base: str) -> None:
    pm = ProfileManager(ProfileManager.get_created_base_folder(base))
    pm.setupMeta()
    pm.create("User 1")
    pm.meta["firstRun"] = False
    pm.set_update_check(False)
    if hasattr(pm, "set_check_for_addon_updates"):  # Anki 25.09+
        pm.set_check_for_addon_updates(False)
    else:
        pm.set_last_addon_update_check(2**31 - 1)
    pm.setLang("en_US")
    pm.db.commit()
    pm.db.close()


if __name__ == "__main__":
    main(sys.argv[1])
