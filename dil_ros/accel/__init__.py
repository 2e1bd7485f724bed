"""Faster forms of the same policy (CUDA graphs, fp16/bf16, AOTInductor), each checked against
policy.ts on the same noise. Entry point for the policy node: ``forms.load_policy_form``."""
