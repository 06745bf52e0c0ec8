"""The deterministic demo company (see :mod:`pipeline.demo.generator`)."""

from pipeline.demo.generator import GenerationSummary, generate_demo_company

__all__ = ["GenerationSummary", "generate_demo_company"]
