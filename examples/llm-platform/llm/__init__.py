"""The LLM platform's fine-tuning job (``torchrun --nproc-per-node=8 -m llm.finetune``)."""
