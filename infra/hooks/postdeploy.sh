#!/bin/sh
# Phase two of `azd up`: the function code is now deployed, so Event Grid can validate the
# subscription's target. Wait until the host has indexed the Event Grid function, then
# re-provision with deployEventSubscriptions=true. Idempotent: once the environment has
# ROTOR_DEPLOY_EVENT_SUBSCRIPTIONS=true, every later provision keeps the subscriptions and this
# hook only confirms the function is there.
set -eu

: "${AZURE_FUNCTION_APP_ID:?run azd provision first (output AZURE_FUNCTION_APP_ID missing)}"
function_name="${ROTOR_EVENT_GRID_FUNCTION:-keyVaultEvents}"
timeout_s="${ROTOR_FUNCTION_WAIT_SECONDS:-300}"

# Flex Consumption indexes functions a little after the package lands.
elapsed=0
until az rest --method get --only-show-errors --output none \
  --url "https://management.azure.com${AZURE_FUNCTION_APP_ID}/functions/${function_name}?api-version=2024-04-01" 2>/dev/null; do
  if [ "$elapsed" -ge "$timeout_s" ]; then
    echo "postdeploy: function '${function_name}' not listed after ${timeout_s}s; Event Grid subscriptions not created." >&2
    echo "postdeploy: check the deployment in Application Insights, then run: azd env set ROTOR_DEPLOY_EVENT_SUBSCRIPTIONS true && azd provision" >&2
    exit 1
  fi
  sleep 10
  elapsed=$((elapsed + 10))
done
echo "postdeploy: function '${function_name}' is deployed."

if [ "${ROTOR_DEPLOY_EVENT_SUBSCRIPTIONS:-false}" = "true" ]; then
  echo "postdeploy: Event Grid subscriptions were already provisioned."
  exit 0
fi

echo "postdeploy: creating the Event Grid subscriptions (azd provision, phase two)."
azd env set ROTOR_DEPLOY_EVENT_SUBSCRIPTIONS true
azd provision --no-prompt
