"""Site settings: the config file's defaults, changed by the operator at run time."""

import pytest

from hotspotd.errors import InvalidInput
from hotspotd.settings import site_settings, update_site_settings


def test_defaults_come_from_the_config_and_changes_win(store, config, now):
    assert site_settings(config).name == config.site.name and site_settings(config).timezone == "Africa/Nairobi"
    changed = update_site_settings(config, {"name": " Mama Njeri Cafe ", "help_phone": "+254 712 000 000",
                                            "notice": "Open 7am-10pm"}, now)
    assert changed.name == "Mama Njeri Cafe" and changed.help_phone == "+254 712 000 000"
    assert site_settings(config) == changed


@pytest.mark.parametrize("changes", [{"name": ""}, {"help_phone": "call me"}, {"notice": "x" * 281},
                                     {"timezone": "Mars/Olympus"}, {"colour": "red"}, {"name": 5}])
def test_bad_settings_are_refused_and_nothing_is_written(store, config, now, changes):
    with pytest.raises(InvalidInput):
        update_site_settings(config, {"notice": "kept?", **changes}, now)
    assert site_settings(config).notice == ""
