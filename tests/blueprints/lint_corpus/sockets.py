"""Sockets and input: blocking in start(), fine in a thread's target."""

import socket
import threading

from celery import bootsteps

from lint_corpus import expect


@expect(("start", "blocks"))
class AcceptsInStart(bootsteps.StartStopStep):
    def start(self, worker):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen()
        self.conn, _ = self.server.accept()


@expect(("start", "blocks"))
class ReceivesInStart(bootsteps.StartStopStep):
    def start(self, worker):
        sock = socket.create_connection(("127.0.0.1", 6379))
        self.greeting = sock.recv(1024)


@expect()
class ServerThread(bootsteps.StartStopStep):
    def start(self, worker):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            conn, _ = self.server.accept()
            conn.recv(1024)

    def stop(self, worker):
        self.server.close()


@expect(("start", "blocks"))
class AsksInStart(bootsteps.StartStopStep):
    def start(self, worker):
        self.answer = input("continue? ")
