from batou.component import Attribute, Component, ConfigString
from batou.lib.file import File


class Hello(Component):
    """Writes a greeting and a rendered config file into its work directory."""

    greeting = Attribute(str, default=ConfigString("Hello"))
    port = Attribute(int, default=ConfigString("8080"))

    def configure(self):
        self += File("greeting.txt", content="{{component.greeting}}, world!\n")
        self += File("app.conf", source="app.conf.j2")
        self.provide("hello:port", self.port)
        self.log("greeting is %r", self.greeting)


class Motd(Component):
    """Uses what Hello provides: deployed after it."""

    def configure(self):
        self.hello_port = self.require_one("hello:port")
        self += File("/etc/motd-demo", content="hello listens on {{component.hello_port}}\n")
