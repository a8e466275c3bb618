"""The whole app alone, as the CDK CLI runs it in tests/test_whole_app.py: `-c version=2` for its next
version; the CLI's account and region (`CDK_DEFAULT_ACCOUNT`, `CDK_DEFAULT_REGION`) as its environment."""

import os

from aws_cdk import App, Environment

from examples import whole_app

app = App()
whole_app.build(
    app, env=Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION"))
)
app.synth()
