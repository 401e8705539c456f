"""Wrong answers to notebook 11's exercise (who does `first` elect, from the requests' clocks)."""

WRONG = {
    1: [
        (
            "the requester wins: first asked for the election, so first leads it",
            '''
def leader_of(requests):
    return min(requests)[1]

predicted = first
''',
            "You predicted",
        ),
        (
            "the last request wins (the requester of the decision that counts)",
            '''
def leader_of(requests):
    return requests[-1][1]

predicted = leader_of(requests)
''',
            "first request by Lamport clock",
        ),
        (
            "the highest Lamport clock wins",
            '''
def leader_of(requests):
    return max(requests)[1]

predicted = leader_of(requests)
''',
            "first request by Lamport clock",
        ),
        (
            "the first worker by name wins",
            '''
def leader_of(requests):
    return min(worker for clock, worker in requests)

predicted = leader_of(requests)
''',
            "first request by Lamport clock",
        ),
    ],
}
