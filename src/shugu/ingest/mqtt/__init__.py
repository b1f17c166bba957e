"""The built-in MQTT endpoint: MQTT 3.1.1 and 5.0, speaking ThingsBoard's device and gateway API."""
