"""The pipeline's steps, one per module, named by its noun; ``inbound.pipeline.chain`` lists them in order."""
