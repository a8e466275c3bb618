"""The example apps that `cdk synth` (and `make synth`) synthesizes: the hybrid-connectivity stack,
and the whole app (`-c version=2` for its next version). Stacks deploy to the CLI's account and
region (`CDK_DEFAULT_ACCOUNT`, `CDK_DEFAULT_REGION`), where it knows them."""

import os

from aws_cdk import App, Environment

from examples import whole_app
from examples.hybrid_connectivity import HybridConnectivityStack

app = App()
environment = Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION"))
HybridConnectivityStack(app, "NetmonHybridConnectivity")
whole_app.build(app, env=environment)
app.synth()
