/**
 * Imported first by main.ts (ESM evaluates imports in order): the AWS SDK's Node-version notice would
 * otherwise be printed by every `pfs` call. `pfs doctor`-style output is the place for it, not each command.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
