# Databricks notebook source
# MAGIC %md
# MAGIC # Lab 1 - Talk to your own Azure OpenAI deployment
# MAGIC
# MAGIC Your lab environment has an Azure OpenAI chat deployment of its own. Its endpoint and key are kept in your
# MAGIC workspace's secret scope; this notebook reads them with `dbutils.secrets.get`, so no key is ever pasted into a
# MAGIC cell (and Databricks prints a secret's value as `[REDACTED]`).
# MAGIC
# MAGIC Run the cells from top to bottom. The widgets above the notebook hold your scope and deployment names.

# COMMAND ----------

dbutils.widgets.text("secret_scope", "__SECRET_SCOPE__", "Secret scope")
dbutils.widgets.text("endpoint_secret", "__ENDPOINT_SECRET__", "Endpoint secret")
dbutils.widgets.text("key_secret", "__KEY_SECRET__", "API key secret")
dbutils.widgets.text("deployment", "__DEPLOYMENT__", "Chat deployment")

scope = dbutils.widgets.get("secret_scope")
deployment = dbutils.widgets.get("deployment")

# COMMAND ----------

# MAGIC %md
# MAGIC ## The client
# MAGIC `max_retries`: a deployment that is busy answers 429 with how long to wait; the client waits and tries again.

# COMMAND ----------

from openai import AzureOpenAI

client = AzureOpenAI(
    azure_endpoint=dbutils.secrets.get(scope, dbutils.widgets.get("endpoint_secret")),
    api_key=dbutils.secrets.get(scope, dbutils.widgets.get("key_secret")),
    api_version="2025-04-01-preview",
    max_retries=6,
)

# COMMAND ----------

# MAGIC %md
# MAGIC ## One question
# MAGIC Reasoning models (the gpt-5 family) spend part of `max_completion_tokens` thinking before they answer.

# COMMAND ----------

reply = client.chat.completions.create(
    model=deployment,
    messages=[
        {"role": "system", "content": "You explain things to a learner in two short sentences."},
        {"role": "user", "content": "What is a token, for a language model?"},
    ],
    max_completion_tokens=400,
)
answer = reply.choices[0].message.content or ""
print(answer or f"(no text: the answer ended with {reply.choices[0].finish_reason})")
print(f"model {reply.model}: {reply.usage.prompt_tokens} tokens in, {reply.usage.completion_tokens} out")

# COMMAND ----------

# MAGIC %md
# MAGIC ## What you used
# MAGIC Every call is billed by its tokens. The last cell ends the notebook with a summary (a job run shows it).

# COMMAND ----------

import json

assert reply.usage.total_tokens > 0, "the deployment answered without counting tokens"
dbutils.notebook.exit(json.dumps({"notebook": "01_connect", "model": reply.model,
                                  "answer_characters": len(answer), "total_tokens": reply.usage.total_tokens}))
