"""The Lambda handler behind `cdk_netmon.NetworkMonitor`: standard library plus the runtime's boto3.

Lambda's entry points are `handler.lifecycle.on_event` and `handler.lifecycle.is_complete`. This
package is shipped on its own as the Lambda asset, so it must not import anything from the rest of
`cdk_netmon`; and this file imports nothing, so that the construct can share `rules`, `spec` and `response`
without importing boto3 at synth.
"""
