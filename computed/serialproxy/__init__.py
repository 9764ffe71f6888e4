"""The serial console proxy (Nova's nova-serialproxy): a websocket
listener that joins a client holding a console token to a guest's serial
port. websocket.py speaks the protocol, server.py listens and relays."""
