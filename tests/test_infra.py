"""infra/dynamodb_table.yaml: cfn-lint clean, and it describes the table mcqueue expects."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from mcqueue.io import dynamo as dynamo

TEMPLATE = Path(__file__).resolve().parent.parent / "infra" / "dynamodb_table.yaml"


def test_template_passes_cfn_lint():
    exe = shutil.which("cfn-lint")
    cmd = [exe] if exe else [sys.executable, "-c", "from cfnlint.runner import main; main()"]
    proc = subprocess.run([*cmd, "--format", "parseable", "--", str(TEMPLATE)],
                          capture_output=True, text=True, timeout=300)
    # exit 0: no errors, warnings or informational findings
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == ""


def test_template_matches_the_library_table():
    from cfnlint.decode import decode

    template, problems = decode(str(TEMPLATE))
    assert problems == []
    table = template["Resources"]["WorkloadCatalogTable"]
    props = table["Properties"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == dynamo.KEY_SCHEMA
    assert props["AttributeDefinitions"] == dynamo.ATTRIBUTE_DEFINITIONS
    assert template["Parameters"]["TableName"]["Default"] == dynamo.DEFAULT_TABLE
    tags = {t["Key"]: t["Value"] for t in props["Tags"]}
    for key, value in dynamo.DEFAULT_TAGS.items():
        assert tags[key] == value
    assert {"TableName", "TableArn", "Region"} <= set(template["Outputs"])
