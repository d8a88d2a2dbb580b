export { readSettings, setting, type SettingDefinition, settingNames, SettingsError, type SettingsOf } from './settings';
