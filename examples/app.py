"""The example app that `cdk synth` (and `make synth`) synthesizes."""

from aws_cdk import App

from examples.hybrid_connectivity import HybridConnectivityStack

app = App()
HybridConnectivityStack(app, "NetmonHybridConnectivity")
app.synth()
