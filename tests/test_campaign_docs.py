from pathlib import Path

from core import playbook
from core.campaign_config import CampaignConfig

DOC = (Path(__file__).parents[1] / "docs" / "campaigns.md").read_text()


def test_every_campaign_setting_is_documented():
    for name in CampaignConfig.model_fields:
        assert f"`{name}`" in DOC, name


def test_every_campaign_type_is_documented():
    for name in playbook.CAMPAIGNS:
        assert f"`{name}`" in DOC, name


def test_every_campaign_parameter_is_documented():
    config = CampaignConfig()
    for name in playbook.CAMPAIGNS:
        for field in type(config.campaign(name)).model_fields:
            assert f"`{field}`" in DOC, f"{name}.{field}"
