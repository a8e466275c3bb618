"""Example apps for cdk_netmon; `cdk.json` runs `examples.app`."""
