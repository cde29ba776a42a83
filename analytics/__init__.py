"""Audience analytics: metrics from viewing events, retention, segments, models, recommendations, sentiment and
experiments. Plain data in, plain data out: no Gradio, and the store is reached only through ``analytics.metrics``
(SQL aggregation over the tables in ``storage.models``)."""
