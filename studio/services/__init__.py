"""Non-UI services the tabs call: the job runner and the tasks it runs. No Gradio import here."""
