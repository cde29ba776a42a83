"""Gradio UI: one module per tab, each with ``build(ui)``; handlers are thin (validate → service → store)."""
