"""Address rewriting and resolution: address classes, virtual(5) alias expansion, transports."""
