import { describe, expect, it } from 'vitest';
import { convertToEnvVarName, envVarName } from '../../../../lib/kube/restart/env-var-name.js';

describe('envVarName', () => {
  it.each([
    ['SECRET', 'my-secret', 'STAKATER_MY_SECRET_SECRET'],
    ['CONFIGMAP', 'my-config', 'STAKATER_MY_CONFIG_CONFIGMAP'],
    ['CONFIGMAP', 'my.app.config', 'STAKATER_MY_APP_CONFIG_CONFIGMAP'],
    ['SECRETPROVIDERCLASS', 'azure-kv', 'STAKATER_AZURE_KV_SECRETPROVIDERCLASS'],
  ] as const)('names the %s %s variable %s (Reloader upgrade_test cases)', (type, name, expected) => {
    expect(envVarName(type, name)).toBe(expected);
  });
});

describe('convertToEnvVarName', () => {
  it.each([
    ['www.stakater.com', 'WWW_STAKATER_COM'],
    ['my-app.config', 'MY_APP_CONFIG'],
    ['a--b..c', 'A_B_C'],
    ['-leading', 'LEADING'],
    ['trailing-', 'TRAILING_'],
    ['MiXeD9', 'MIXED9'],
    ['é-x', 'X'],
  ])('turns %s into %s (runs collapse, leading invalid dropped, trailing kept)', (input, expected) => {
    expect(convertToEnvVarName(input)).toBe(expected);
  });
});
