"""Pure-torch policy code: config, U-Net, normaliser, DDIM sampler, export and artifact loading.

Nothing is imported here, so that ``dil_ros.policy.artifact`` (what the policy node loads) pulls
in torch and the contract reader alone.
"""
